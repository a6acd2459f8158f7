package spec

import (
	"fmt"
	"net/netip"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
)

// Defaults used when the spec leaves a value out.
const (
	DefaultKubernetesVersion = "v1.21.14"
	DefaultURI               = "qemu:///system"
	DefaultStoragePoolRoot   = "/var/lib/kprov/pools"
	DefaultAccelerator       = "auto"
	DefaultBootTimeout       = "10m"
	DefaultImageFormat       = "qcow2"
	DefaultNetworkMode       = "nat"
	DefaultNodeCIDR          = "10.17.0.0/24"
	DefaultMTU               = 1500
	DefaultDNSDomain         = "cluster.local"
	DefaultPodCIDR           = "192.168.0.0/16"
	DefaultServiceCIDR       = "10.96.0.0/12"
	DefaultSSHUser           = "kprov"
	DefaultVCPU              = 2
	DefaultMemory            = "2GiB"
	DefaultDiskSize          = "20GiB"
	DefaultDiskBus           = "nvme"
	DefaultKubeProxyMode     = "ipvs"
	DefaultIPVSScheduler     = "rr"
	DefaultCalicoVersion     = "v3.11.3"
	DefaultEncapsulation     = "none"
	DefaultIPAutodetection   = "interface=eth0"
	DefaultIngressNamespace  = "ingress-nginx"
	DefaultIngressService    = "ingress-nginx"
	DefaultTraefikVersion    = "v3.6.12"
	DefaultTraefikNamespace  = "traefik"
	DefaultTraefikService    = "traefik"
	DefaultTrafficPolicy     = "Local"
	DefaultContainerd        = "1.7.24"
	DefaultBastionPort       = 22
)

// Roles of a node pool.
const (
	RoleControlPlane = "control-plane"
	RoleWorker       = "worker"
)

// CalicoManifestURL is the upstream manifest of a Calico version: the docs
// site served releases before v3.20, the GitHub release tree serves later
// ones.
func CalicoManifestURL(v string) string {
	parsed, err := version.ParseSemantic(strings.TrimPrefix(v, "v"))
	if err == nil && parsed.Major() == 3 && parsed.Minor() < 20 {
		return fmt.Sprintf("https://docs.projectcalico.org/v3.%d/manifests/calico.yaml", parsed.Minor())
	}
	return "https://raw.githubusercontent.com/projectcalico/calico/" + v + "/manifests/calico.yaml"
}

// MetalLBManifestURL is the MetalLB (layer 2, native mode) kprov installs
// on a Kubernetes version: v0.13.5 up to 1.21 (the v3.11 stack's), v0.15.2
// after.
func MetalLBManifestURL(kubernetes Version) string {
	v := "v0.15.2"
	if kubernetes.Before(metalLBv015) {
		v = "v0.13.5"
	}
	return "https://raw.githubusercontent.com/metallb/metallb/" + v + "/config/manifests/metallb-native.yaml"
}

// DefaultIngressManifest is the early-2020 ingress-nginx of the v3.11 stack.
const DefaultIngressManifest = "https://raw.githubusercontent.com/kubernetes/ingress-nginx/nginx-0.30.0/deploy/static/mandatory.yaml"

// Ingress controllers: Traefik built by kprov, or a manifest installed as
// it is.
const (
	ControllerTraefik  = "traefik"
	ControllerManifest = "manifest"
)

// Where a Traefik release publishes its CRDs and the ClusterRole of its
// Kubernetes providers, in its repository (and module zip).
const (
	TraefikCRDsFile = "docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml"
	TraefikRBACFile = "docs/content/reference/dynamic-configuration/kubernetes-crd-rbac.yml"
)

// TraefikCRDsURL is the CRD manifest Traefik release v publishes.
func TraefikCRDsURL(v string) string {
	return "https://raw.githubusercontent.com/traefik/traefik/" + v + "/" + TraefikCRDsFile
}

// TraefikRBACURL is the RBAC manifest Traefik release v publishes.
func TraefikRBACURL(v string) string {
	return "https://raw.githubusercontent.com/traefik/traefik/" + v + "/" + TraefikRBACFile
}

// defaultController is "manifest" for an ingress block that names one, or
// on Kubernetes 1.21 (Traefik v3 needs 1.22; the v3.11 stack installs
// ingress-nginx 0.30.0), else "traefik".
func defaultController(in *Ingress, kubernetes Version) string {
	if in.Manifest != "" || in.SHA256 != "" {
		return ControllerManifest
	}
	if kubernetes.Before(traefikMinKubernetes) {
		return ControllerManifest
	}
	return ControllerTraefik
}

// applyDefaults fills every value the spec left out. It runs before
// validation so that validation sees the values kprov will use.
func applyDefaults(c *Cluster) {
	if c.KubernetesVersion == "" {
		c.KubernetesVersion = DefaultKubernetesVersion
	}
	// Kubernetes versions are kept in kubeadm's form: v1.21.14.
	if c.KubernetesVersion[0] >= '0' && c.KubernetesVersion[0] <= '9' {
		c.KubernetesVersion = "v" + c.KubernetesVersion
	}
	c.kube, _ = ParseVersion(c.KubernetesVersion) // validation says why it does not parse
	if c.Hypervisor == nil {
		c.Hypervisor = &Hypervisor{}
	}
	h := c.Hypervisor
	def(&h.URI, DefaultURI)
	def(&h.StoragePool, DefaultStoragePoolRoot+"/"+c.Name)
	def(&h.Accelerator, DefaultAccelerator)
	def(&h.BootTimeout, DefaultBootTimeout)
	if c.Image == nil {
		c.Image = &Image{}
	}
	def(&c.Image.Format, DefaultImageFormat)
	if c.Network == nil {
		c.Network = &Network{}
	}
	n := c.Network
	def(&n.Mode, DefaultNetworkMode)
	def(&n.NodeCIDR, DefaultNodeCIDR)
	if p, err := netip.ParsePrefix(n.NodeCIDR); err == nil && n.Gateway == "" {
		n.Gateway = p.Masked().Addr().Next().String()
	}
	if n.MTU == 0 {
		n.MTU = DefaultMTU
	}
	def(&n.DNSDomain, DefaultDNSDomain)
	def(&n.PodCIDR, DefaultPodCIDR)
	def(&n.ServiceCIDR, DefaultServiceCIDR)
	if c.SSH == nil {
		c.SSH = &SSH{}
	}
	def(&c.SSH.User, DefaultSSHUser)
	if b := c.SSH.Bastion; b != nil {
		if b.Port == 0 {
			b.Port = DefaultBastionPort
		}
		def(&b.User, c.SSH.User)
	}
	for _, p := range c.NodePools {
		if p.Count == nil {
			one := 1
			p.Count = &one
		}
		if p.VCPU == 0 {
			p.VCPU = DefaultVCPU
		}
		def(&p.Memory, DefaultMemory)
		def(&p.DiskSize, DefaultDiskSize)
		def(&p.DiskBus, DefaultDiskBus)
	}
	if c.KubeProxy == nil {
		c.KubeProxy = &KubeProxy{}
	}
	def(&c.KubeProxy.Mode, DefaultKubeProxyMode)
	if c.KubeProxy.Mode == "ipvs" {
		def(&c.KubeProxy.IPVSScheduler, DefaultIPVSScheduler)
	}
	if c.Calico == nil {
		c.Calico = &Calico{}
	}
	ca := c.Calico
	def(&ca.Version, DefaultCalicoVersion)
	def(&ca.Manifest, CalicoManifestURL(ca.Version))
	def(&ca.Encapsulation, DefaultEncapsulation)
	def(&ca.IPAutodetectionMethod, DefaultIPAutodetection)
	def(&ca.MTU, "auto")
	def(&ca.PoolCIDR, n.PodCIDR)
	if c.Ingress != nil {
		in := c.Ingress
		def(&in.Controller, defaultController(in, c.kube))
		if in.Controller == ControllerTraefik {
			def(&in.Version, DefaultTraefikVersion)
			def(&in.CRDsManifest, TraefikCRDsURL(in.Version))
			def(&in.RBACManifest, TraefikRBACURL(in.Version))
			def(&in.Namespace, DefaultTraefikNamespace)
			def(&in.ServiceName, DefaultTraefikService)
			if in.Replicas == nil {
				one := 1
				in.Replicas = &one
			}
		} else {
			def(&in.Manifest, DefaultIngressManifest)
			def(&in.Namespace, DefaultIngressNamespace)
			def(&in.ServiceName, DefaultIngressService)
		}
		def(&in.ExternalTrafficPolicy, DefaultTrafficPolicy)
		if len(in.Addresses) > 0 {
			def(&in.LoadBalancer, "metallb")
		}
		def(&in.LoadBalancer, "none")
		if in.LoadBalancer == "metallb" {
			def(&in.LoadBalancerManifest, MetalLBManifestURL(c.kube))
		}
	}
	if c.Artifacts == nil {
		c.Artifacts = &Artifacts{}
	}
	if c.Etcd == nil {
		c.Etcd = &Etcd{}
	}
	if c.Timeouts == nil {
		c.Timeouts = &Timeouts{}
	}
	c.Timeouts.defaults()
	def(&c.Etcd.DiskCheck, "enforce")
	if c.Kubeadm == nil {
		c.Kubeadm = &Kubeadm{}
	}
	def(&c.Artifacts.ContainerdVersion, DefaultContainerd)
	a := c.Artifacts
	if a.CrictlVersion != "" && a.CrictlVersion[0] != 'v' {
		a.CrictlVersion = "v" + a.CrictlVersion
	}
	def(&a.CrictlVersion, DefaultCrictlVersion(c.kube))
}

func def(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// NodesHaveDNS reports whether the nodes get a DNS server: the spec's
// nameservers, or libvirt's on the gateway in nat mode.
func (c *Cluster) NodesHaveDNS() bool {
	return len(c.Network.Nameservers) > 0 || c.Network.Mode == "nat"
}
