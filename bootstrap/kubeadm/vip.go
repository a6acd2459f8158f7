package kubeadm

import (
	"fmt"
	"net/netip"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/provision/spec"
)

// The kube-vip static pod: the kubeconfigs it may read, the NIC and the
// lease it uses.
const (
	AdminConfPath  = "/etc/kubernetes/admin.conf"
	SuperAdminConf = "/etc/kubernetes/super-admin.conf"
	VIPInterface   = "eth0" // kprov's nodes name their NIC eth0 (cloud-init)
	VIPLeaseName   = "plndr-cp-lock"
	vipMetricsPort = ":2112"
)

// VIPKubeconfig is the kubeconfig kube-vip reads on a control plane: on the
// first one during `kubeadm init` of 1.29 and later, super-admin.conf,
// because admin.conf's group (kubeadm:cluster-admins) is bound to
// cluster-admin only once the API server answers on the virtual address,
// which kube-vip must first take (kube-vip issue #684); admin.conf
// otherwise, and on the first control plane again once init is done.
func VIPKubeconfig(c *spec.Cluster, initializing bool) string {
	if initializing && !c.Kubernetes().Before(superAdminFrom) {
		return SuperAdminConf
	}
	return AdminConfPath
}

// superAdminFrom is the first release whose kubeadm writes super-admin.conf.
var superAdminFrom = version.MustParseGeneric("1.29.0")

// VIPPod is the kube-vip static pod of a control plane, as `kube-vip
// manifest pod --interface eth0 --address VIP --controlplane --arp
// --leaderElection` of v0.9.2 writes it, with the image pinned and the
// kubeconfig read from kubeconfig (VIPKubeconfig), which must be a file.
// The pod holds vip on eth0 while it leads the election on the lease
// plndr-cp-lock in kube-system, and answers ARP for it. lease is the
// lease's duration (0: kube-vip's 5 s); its renew deadline and retry
// period keep kube-vip's proportions (3/5 and 1/5).
func VIPPod(vip netip.Addr, lease time.Duration, kubeconfig string) ([]byte, error) {
	if !vip.Is4() {
		return nil, fmt.Errorf("kube-vip: %s is not an IPv4 address", vip)
	}
	if lease == 0 {
		lease = spec.DefaultAPIVIPLease
	}
	secs := int(lease / time.Second)
	if secs < 5 {
		return nil, fmt.Errorf("kube-vip: a lease of %s is shorter than kube-vip's 5s", lease)
	}
	env := []corev1.EnvVar{
		{Name: "vip_arp", Value: "true"},
		{Name: "port", Value: fmt.Sprint(APIPort)},
		{Name: "vip_nodename", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "vip_interface", Value: VIPInterface},
		{Name: "vip_subnet", Value: "32"},
		{Name: "dns_mode", Value: "first"},
		{Name: "cp_enable", Value: "true"},
		{Name: "cp_namespace", Value: metav1.NamespaceSystem},
		{Name: "vip_leaderelection", Value: "true"},
		{Name: "vip_leasename", Value: VIPLeaseName},
		{Name: "vip_leaseduration", Value: fmt.Sprint(secs)},
		{Name: "vip_renewdeadline", Value: fmt.Sprint(secs * 3 / 5)},
		{Name: "vip_retryperiod", Value: fmt.Sprint(max(1, secs/5))},
		{Name: "address", Value: vip.String()},
		{Name: "prometheus_server", Value: vipMetricsPort},
	}
	file := corev1.HostPathFile
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "kube-vip", Namespace: metav1.NamespaceSystem},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{
				Name:            "kube-vip",
				Image:           images.KubeVIP,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Args:            []string{"manager"},
				Env:             env,
				SecurityContext: &corev1.SecurityContext{Capabilities: &corev1.Capabilities{
					Add:  []corev1.Capability{"NET_ADMIN", "NET_RAW"},
					Drop: []corev1.Capability{"ALL"},
				}},
				// kube-vip reads this path inside the container.
				VolumeMounts: []corev1.VolumeMount{{Name: "kubeconfig", MountPath: AdminConfPath}},
			}},
			// It talks to the API server on this node as "kubernetes",
			// a name in the serving certificate.
			HostAliases: []corev1.HostAlias{{IP: "127.0.0.1", Hostnames: []string{"kubernetes"}}},
			HostNetwork: true,
			// The type makes the kubelet wait for the file rather than have
			// the runtime make a folder in its place.
			Volumes: []corev1.Volume{{Name: "kubeconfig", VolumeSource: corev1.VolumeSource{
				HostPath: &corev1.HostPathVolumeSource{Path: kubeconfig, Type: &file},
			}}},
		},
	}
	return yaml.Marshal(pod)
}
