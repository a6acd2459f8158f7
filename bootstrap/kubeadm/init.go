package kubeadm

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubeproxy "k8s.io/kube-proxy/config/v1alpha1"
	kubelet "k8s.io/kubelet/config/v1beta1"
	bootstraptokenv1 "k8s.io/kubernetes/cmd/kubeadm/app/apis/bootstraptoken/v1"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/secrets"
	"github.com/kprov/kprov/provision/spec"
)

// PatchesDir is where kprov writes the spec's kubeadm patches on each node
// (kubeadm { patches }); kubeadm init and join read them from there.
const PatchesDir = "/etc/kprov/kubeadm-patches"

// patches is the kubeadm Patches setting of c: nil without patches.
func patches(c *spec.Cluster, apiVersion string) (*kubeadmapi.Patches, error) {
	if len(c.Kubeadm.Patches) == 0 {
		return nil, nil
	}
	if apiVersion == V1beta2 {
		return nil, fmt.Errorf("kubeadm %s (configuration %s) has no patches: remove kubeadm { patches }", c.KubernetesVersion, V1beta2)
	}
	return &kubeadmapi.Patches{Directory: PatchesDir}, nil
}

// EtcdDataDir is where kubeadm's local etcd keeps its data (kubeadm's
// default, written out so the file says it).
const EtcdDataDir = "/var/lib/etcd"

// InitConfig is the configuration of `kubeadm init` on the first control
// plane: InitConfiguration, ClusterConfiguration, KubeProxyConfiguration
// and KubeletConfiguration, as one multi-document YAML file.
func InitConfig(in Input) ([]byte, error) {
	apiVersion, err := APIVersion(in.Cluster.Kubernetes())
	if err != nil {
		return nil, err
	}
	if err := checkSecrets(in.Secrets); err != nil {
		return nil, err
	}
	cp, ok := plan.FirstControlPlane(in.Nodes)
	if !ok {
		return nil, errors.New("no control-plane node in the plan")
	}
	endpoint, err := Endpoint(in)
	if err != nil {
		return nil, err
	}
	reg, err := nodeRegistration(in.Cluster, cp)
	if err != nil {
		return nil, err
	}
	token, err := bootstraptokenv1.NewBootstrapTokenString(in.Secrets.BootstrapToken)
	if err != nil {
		return nil, errors.New("bootstrap token is malformed")
	}
	c := in.Cluster
	etcdTag, dnsTag, err := images.Tags(c)
	if err != nil {
		return nil, err
	}
	patchCfg, err := patches(c, apiVersion)
	if err != nil {
		return nil, err
	}
	initCfg := &kubeadmapi.InitConfiguration{
		Patches:          patchCfg,
		BootstrapTokens:  []bootstraptokenv1.BootstrapToken{{Token: token, TTL: &metav1.Duration{Duration: TokenTTL}}},
		NodeRegistration: reg,
		LocalAPIEndpoint: kubeadmapi.APIEndpoint{AdvertiseAddress: cp.IP.String(), BindPort: APIPort},
		CertificateKey:   in.Secrets.CertificateKey,
		Timeouts:         &kubeadmapi.Timeouts{}, // see versioned
	}
	clusterCfg := &kubeadmapi.ClusterConfiguration{
		ClusterName:          c.Name,
		KubernetesVersion:    c.KubernetesVersion,
		ControlPlaneEndpoint: endpoint,
		ImageRepository:      c.Kubeadm.ImageRepository,
		// The tags kprov lists, pre-pulls and pins (bootstrap/images).
		Etcd:              kubeadmapi.Etcd{Local: &kubeadmapi.LocalEtcd{DataDir: EtcdDataDir, ImageMeta: kubeadmapi.ImageMeta{ImageTag: etcdTag}}},
		DNS:               kubeadmapi.DNS{ImageMeta: kubeadmapi.ImageMeta{ImageTag: dnsTag}},
		APIServer:         kubeadmapi.APIServer{ControlPlaneComponent: kubeadmapi.ControlPlaneComponent{ExtraArgs: extraArgs(c.Kubeadm.APIServerExtraArgs)}},
		ControllerManager: kubeadmapi.ControlPlaneComponent{ExtraArgs: extraArgs(c.Kubeadm.ControllerManagerExtraArgs)},
		Scheduler:         kubeadmapi.ControlPlaneComponent{ExtraArgs: extraArgs(c.Kubeadm.SchedulerExtraArgs)},
		Networking: kubeadmapi.Networking{
			PodSubnet:     c.Network.PodCIDR,
			ServiceSubnet: c.Network.ServiceCIDR,
			DNSDomain:     c.Network.DNSDomain,
		},
	}
	proxy, err := kubeProxy(in)
	if err != nil {
		return nil, err
	}
	if d := c.ControlPlaneTimeout(); d > 0 {
		initCfg.Timeouts.ControlPlaneComponentHealthCheck = &metav1.Duration{Duration: d}
	}
	docs, err := kubeadmDocs(apiVersion, initCfg, clusterCfg)
	if err != nil {
		return nil, err
	}
	setV1beta3ControlPlaneTimeout(docs, c.ControlPlaneTimeout())
	kubeletCfg, err := kubeletDoc()
	if err != nil {
		return nil, err
	}
	docs = append(docs, proxy, kubeletCfg)
	return finish(apiVersion, docs, in.Secrets)
}

// finish validates docs with upstream kubeadm and encodes them, in v1beta2
// when apiVersion asks for it.
func finish(apiVersion string, docs []document, secrets *secrets.Secrets) ([]byte, error) {
	if err := validate(docs, secrets); err != nil {
		return nil, err
	}
	if apiVersion == V1beta2 {
		var err error
		if docs, err = toV1beta2(docs); err != nil {
			return nil, err
		}
	}
	return encode(docs...)
}

// kubeadmDocs converts internal kubeadm objects to apiVersion; v1beta2 is
// rendered as v1beta3 first (see toV1beta2).
func kubeadmDocs(apiVersion string, objs ...runtime.Object) ([]document, error) {
	gv := schema.GroupVersion{Group: kubeadmapi.GroupName, Version: "v1beta4"}
	if apiVersion != V1beta4 {
		gv.Version = "v1beta3"
	}
	docs := make([]document, 0, len(objs)+2)
	for _, o := range objs {
		d, err := versioned(o, gv)
		if err != nil {
			return nil, err
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// kubeProxy is the KubeProxyConfiguration of the spec: the proxy mode, the
// IPVS scheduler (and strict ARP for MetalLB) and the pod CIDR.
func kubeProxy(in Input) (document, error) {
	c := in.Cluster
	cfg := &kubeproxy.KubeProxyConfiguration{
		TypeMeta:    metav1.TypeMeta{APIVersion: kubeproxy.SchemeGroupVersion.String(), Kind: "KubeProxyConfiguration"},
		Mode:        kubeproxy.ProxyMode(c.KubeProxy.Mode),
		ClusterCIDR: c.Network.PodCIDR,
	}
	switch c.KubeProxy.Mode {
	case "ipvs":
		cfg.IPVS.Scheduler = c.KubeProxy.IPVSScheduler
		// MetalLB in layer 2 mode needs strict ARP under IPVS: otherwise
		// every node answers ARP for the addresses on kube-ipvs0.
		cfg.IPVS.StrictARP = c.Ingress != nil && c.Ingress.LoadBalancer == "metallb"
	case "iptables":
	case "nftables":
		// Beta and on by default from 1.31; alpha behind a gate before.
		if !c.Kubernetes().AtLeast(spec.NFTablesKubeProxy) {
			return document{}, fmt.Errorf("kube_proxy mode nftables needs Kubernetes 1.31 or newer, not %s", c.KubernetesVersion)
		}
	default:
		return document{}, fmt.Errorf("kube_proxy mode %q: want ipvs, nftables or iptables", c.KubeProxy.Mode)
	}
	return typed(cfg)
}

// kubeletDoc is the KubeletConfiguration: the systemd cgroup driver, as
// containerd is configured (1.21's kubeadm still defaulted to cgroupfs).
func kubeletDoc() (document, error) {
	return typed(&kubelet.KubeletConfiguration{
		TypeMeta:     metav1.TypeMeta{APIVersion: kubelet.SchemeGroupVersion.String(), Kind: "KubeletConfiguration"},
		CgroupDriver: "systemd",
	})
}

var (
	tokenRE   = regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`)
	certKeyRE = regexp.MustCompile(`^[a-f0-9]{64}$`)
)

// checkSecrets checks the form of the join secrets without echoing them.
func checkSecrets(s *secrets.Secrets) error {
	switch {
	case s == nil:
		return errors.New("no secrets")
	case !tokenRE.MatchString(s.BootstrapToken):
		return errors.New("bootstrap token is not of the form [a-z0-9]{6}.[a-z0-9]{16}")
	case !certKeyRE.MatchString(s.CertificateKey):
		return errors.New("certificate key is not 64 lowercase hex characters")
	}
	return nil
}

// KubeProxyConfig is the KubeProxyConfiguration document kprov hands
// kubeadm init, which stores it in the kube-system/kube-proxy ConfigMap.
func KubeProxyConfig(c *spec.Cluster) ([]byte, error) {
	d, err := kubeProxy(Input{Cluster: c})
	if err != nil {
		return nil, err
	}
	m := map[string]any{"apiVersion": d.apiVersion, "kind": d.kind}
	for k, v := range d.fields {
		m[k] = v
	}
	return yaml.Marshal(m)
}

// extraArgs are a component's extra flags, sorted by name (kubeadm keeps
// their order).
func extraArgs(m map[string]string) []kubeadmapi.Arg {
	var args []kubeadmapi.Arg
	for _, k := range slices.Sorted(maps.Keys(m)) {
		args = append(args, kubeadmapi.Arg{Name: k, Value: m[k]})
	}
	return args
}
