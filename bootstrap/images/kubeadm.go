package images

import (
	"fmt"
	"strings"

	"github.com/kprov/kprov/provision/spec"
)

// release is what kubeadm of one Kubernetes minor uses besides the
// control-plane components, read from that minor's latest patch release
// kprov could read (cmd/kubeadm/app/constants/constants.go: PauseVersion,
// CoreDNSVersion, SupportedEtcdVersion; cmd/kubeadm/app/images).
type release struct {
	// patch is the patch release the row was read from. Earlier patches
	// of the minor may name other pause and etcd tags; the oracle tests
	// run the real kubeadm of the patches they build.
	patch                uint
	pause, etcd, coredns string
	// registryFrom is the first patch whose kubeadm defaults to
	// registry.k8s.io (earlier ones: k8s.gcr.io); -1: none does.
	registryFrom int
	// dnsFirst: kubeadm lists CoreDNS before pause and etcd (1.29 on).
	dnsFirst bool
}

// byMinor are the kubeadm releases kprov knows, by Kubernetes minor. The
// registry.k8s.io default came with 1.25.0 and was backported to 1.22.17,
// 1.23.15 and 1.24.9 (kubernetes#113393, #113395; the CHANGELOG of each
// minor); 1.21 ended at 1.21.14 with k8s.gcr.io. From 1.35 the etcd of a
// minor may be missing from SupportedEtcdVersion: kubeadm then takes the
// entry of the nearest minor, as noted.
var byMinor = map[uint]release{
	21: {patch: 14, pause: "3.4.1", etcd: "3.4.13-0", coredns: "v1.8.0", registryFrom: -1},
	22: {patch: 17, pause: "3.5", etcd: "3.5.6-0", coredns: "v1.8.4", registryFrom: 17},
	23: {patch: 17, pause: "3.6", etcd: "3.5.6-0", coredns: "v1.8.6", registryFrom: 15},
	24: {patch: 17, pause: "3.7", etcd: "3.5.6-0", coredns: "v1.8.6", registryFrom: 9},
	25: {patch: 16, pause: "3.8", etcd: "3.5.9-0", coredns: "v1.9.3"},
	26: {patch: 15, pause: "3.9", etcd: "3.5.10-0", coredns: "v1.9.3"},
	27: {patch: 16, pause: "3.9", etcd: "3.5.12-0", coredns: "v1.10.1"},
	28: {patch: 15, pause: "3.9", etcd: "3.5.15-0", coredns: "v1.10.1"},
	29: {patch: 15, pause: "3.9", etcd: "3.5.16-0", coredns: "v1.11.1", dnsFirst: true},
	30: {patch: 14, pause: "3.9", etcd: "3.5.15-0", coredns: "v1.11.3", dnsFirst: true},
	31: {patch: 14, pause: "3.10", etcd: "3.5.24-0", coredns: "v1.11.3", dnsFirst: true},
	32: {patch: 13, pause: "3.10", etcd: "3.5.24-0", coredns: "v1.11.3", dnsFirst: true},
	33: {patch: 13, pause: "3.10", etcd: "3.5.24-0", coredns: "v1.12.0", dnsFirst: true},
	34: {patch: 5, pause: "3.10.1", etcd: "3.6.5-0", coredns: "v1.12.1", dnsFirst: true},
	// 1.35.6 keys etcd by skew from its own minor: 35 is getSkewedKubernetesVersion(0).
	35: {patch: 6, pause: "3.10.1", etcd: "3.6.6-0", coredns: "v1.13.1", dnsFirst: true},
	36: {patch: 5, pause: "3.10.2", etcd: "3.6.8-0", coredns: "v1.14.2", dnsFirst: true},
	// No entry for 37: kubeadm falls back to its newest, 36's.
	37: {patch: 2, pause: "3.10.2", etcd: "3.7.0-0", coredns: "v1.14.6", dnsFirst: true},
}

// Kubeadm is what `kubeadm config images list` prints for c's init
// configuration: the control-plane components and kube-proxy at the
// cluster's version, then pause, etcd and CoreDNS (CoreDNS before pause
// from 1.29), from the spec's image_repository or kubeadm's default.
func Kubeadm(c *spec.Cluster) ([]Image, error) {
	r, err := forVersion(c)
	if err != nil {
		return nil, err
	}
	repo := repository(c)
	tag := strings.ReplaceAll(c.Kubernetes().String(), "+", "_")
	var refs []string
	for _, name := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"} {
		refs = append(refs, repo+"/"+name+":"+tag)
	}
	// kubeadm moves CoreDNS under coredns/ only in its own default
	// repository, where the image is coredns/coredns.
	dnsRepo := repo
	if repo == defaultRepository(c) {
		dnsRepo += "/coredns"
	}
	dns := dnsRepo + "/coredns:" + r.coredns
	pause, etcd := repo+"/pause:"+r.pause, repo+"/etcd:"+r.etcd
	if r.dnsFirst {
		refs = append(refs, dns, pause, etcd)
	} else {
		refs = append(refs, pause, etcd, dns)
	}
	out := make([]Image, len(refs))
	for i, ref := range refs {
		out[i] = Image{Ref: ref, Source: SourceKubeadm}
	}
	return out, nil
}

// Pause is the pause (sandbox) image of c's Kubernetes version, which
// containerd's sandbox_image must name.
func Pause(c *spec.Cluster) (string, error) {
	r, err := forVersion(c)
	if err != nil {
		return "", err
	}
	return repository(c) + "/pause:" + r.pause, nil
}

func forVersion(c *spec.Cluster) (release, error) {
	kv := c.Kubernetes()
	if !kv.Valid() {
		return release{}, fmt.Errorf("kubernetes_version %q does not parse: use an exact release such as 1.30.14", c.KubernetesVersion)
	}
	r, ok := byMinor[kv.Minor()]
	if kv.Major() != 1 || !ok {
		return release{}, fmt.Errorf("kprov does not know kubeadm %d.%d's images: use a Kubernetes version from 1.%d to 1.%d",
			kv.Major(), kv.Minor(), spec.MinKubernetes.Minor(), spec.MaxKubernetes.Minor())
	}
	return r, nil
}

// repository is kubeadm's image repository for c: the spec's, else
// kubeadm's default.
func repository(c *spec.Cluster) string {
	if c.Kubeadm != nil && c.Kubeadm.ImageRepository != "" {
		return c.Kubeadm.ImageRepository
	}
	return defaultRepository(c)
}

// defaultRepository is the default image repository of the kubeadm of c's
// version: k8s.gcr.io until the patch that moved it to registry.k8s.io.
func defaultRepository(c *spec.Cluster) string {
	kv := c.Kubernetes()
	if !kv.Valid() {
		return "registry.k8s.io"
	}
	r := byMinor[kv.Minor()]
	if r.registryFrom < 0 || kv.Patch() < uint(r.registryFrom) {
		return "k8s.gcr.io"
	}
	return "registry.k8s.io"
}

// Tags are the etcd and CoreDNS image tags of c's Kubernetes version.
// kprov writes them into kubeadm's ClusterConfiguration, so a release whose
// own defaults differ from its minor's row here still runs exactly the
// images kprov listed, pulled and pinned.
func Tags(c *spec.Cluster) (etcd, coredns string, err error) {
	r, err := forVersion(c)
	if err != nil {
		return "", "", err
	}
	return r.etcd, r.coredns, nil
}

// KubeVIP is kube-vip's image, which the control planes run as a static
// pod when the cluster has a virtual API address (spec Cluster.APIVIP).
// v0.9.2 is the release the lab builds and tests (bootstrap/kubeadm's
// oracle runs the same release).
const KubeVIP = "ghcr.io/kube-vip/kube-vip:v0.9.2"

// SourceKubeVIP is the source of KubeVIP in List: only control planes
// pull it.
const SourceKubeVIP = "kubeadm/kube-vip"
