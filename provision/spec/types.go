package spec

import "github.com/hashicorp/hcl/v2"

// File is the top level of a cluster spec file after variables and locals
// have been evaluated.
type File struct {
	Clusters []*Cluster `hcl:"cluster,block"`
	// Variables and locals are decoded in an earlier pass; they are accepted
	// here only so the body schema knows them.
	Variables []*struct {
		Name string   `hcl:"name,label"`
		Rest hcl.Body `hcl:",remain"`
	} `hcl:"variable,block"`
	Locals []*struct {
		Rest hcl.Body `hcl:",remain"`
	} `hcl:"locals,block"`
}

// Cluster is one `cluster "NAME"` block: everything kprov builds.
type Cluster struct {
	Name              string `hcl:"name,label"`
	KubernetesVersion string `hcl:"kubernetes_version,optional"`

	Hypervisor    *Hypervisor    `hcl:"hypervisor,block"`
	Image         *Image         `hcl:"image,block"`
	Network       *Network       `hcl:"network,block"`
	SSH           *SSH           `hcl:"ssh,block"`
	NodePools     []*NodePool    `hcl:"node_pool,block"`
	KubeProxy     *KubeProxy     `hcl:"kube_proxy,block"`
	Calico        *Calico        `hcl:"calico,block"`
	Ingress       *Ingress       `hcl:"ingress,block"`
	NetworkPolicy *NetworkPolicy `hcl:"network_policy,block"`
	Artifacts     *Artifacts     `hcl:"artifacts,block"`
	Etcd          *Etcd          `hcl:"etcd,block"`
	Kubeadm       *Kubeadm       `hcl:"kubeadm,block"`
	Registries    *Registries    `hcl:"registries,block"`
	Timeouts      *Timeouts      `hcl:"timeouts,block"`

	DefRange  hcl.Range `hcl:",def_range"`
	NameRange hcl.Range `hcl:"name,label_range"`
	Body      hcl.Body  `hcl:",body"`

	// kube is kubernetes_version parsed by Normalize (see Kubernetes); it
	// has no hcl tag, so gohcl leaves it alone.
	kube Version
}

// Hypervisor says where and how the nodes run.
type Hypervisor struct {
	// URI is a libvirt URI: qemu:///system or qemu+ssh://user@host/system.
	URI string `hcl:"uri,optional"`
	// StoragePool is the directory of the libvirt storage pool kprov creates.
	StoragePool string `hcl:"storage_pool,optional"`
	// Accelerator is kvm, tcg (software emulation) or auto.
	Accelerator string `hcl:"accelerator,optional"`
	// BootTimeout bounds the wait for a node to answer SSH, e.g. "10m".
	BootTimeout string `hcl:"boot_timeout,optional"`

	Body hcl.Body `hcl:",body"`
}

// Image is the base disk image every node's overlay is backed by.
type Image struct {
	// Source is an http(s) URL or a local path.
	Source string `hcl:"source"`
	SHA256 string `hcl:"sha256,optional"`
	// SHA512 and ChecksumURL pin a downloaded image too: ChecksumURL is a
	// published checksum file (Debian's SHA512SUMS, Ubuntu's SHA256SUMS),
	// ChecksumName the image's name in it (default: the URL's file name).
	SHA512       string `hcl:"sha512,optional"`
	ChecksumURL  string `hcl:"checksum_url,optional"`
	ChecksumName string `hcl:"checksum_name,optional"`
	Format       string `hcl:"format,optional"`

	Body hcl.Body `hcl:",body"`
}

// Network is the node network and the cluster's address ranges.
type Network struct {
	// Mode is nat, isolated or bridge.
	Mode string `hcl:"mode,optional"`
	// Bridge names an existing host bridge, for mode bridge.
	Bridge    string `hcl:"bridge,optional"`
	NodeCIDR  string `hcl:"node_cidr,optional"`
	Gateway   string `hcl:"gateway,optional"`
	MTU       int    `hcl:"mtu,optional"`
	DNSDomain string `hcl:"dns_domain,optional"`
	// Nameservers are the nodes' DNS servers (default: the gateway in nat
	// mode, where libvirt serves DNS; none otherwise).
	Nameservers []string `hcl:"nameservers,optional"`
	PodCIDR     string   `hcl:"pod_cidr,optional"`
	ServiceCIDR string   `hcl:"service_cidr,optional"`
	// APIEndpoint is the control plane endpoint (host or host:port); the
	// first control-plane node's address when empty.
	APIEndpoint string `hcl:"api_endpoint,optional"`
	// APIVIP is the virtual address the control planes hold (kube-vip in
	// ARP mode) and serve the API on; see Cluster.APIVIP for its default.
	APIVIP string `hcl:"api_vip,optional"`
	// APIVIPLease is kube-vip's lease duration (whole seconds); see
	// Cluster.APIVIPLease.
	APIVIPLease string `hcl:"api_vip_lease,optional"`

	Body hcl.Body `hcl:",body"`
}

// SSH says how kprov reaches the nodes.
type SSH struct {
	User string `hcl:"user,optional"`
	// PrivateKey is a path; empty means a key generated for the cluster.
	PrivateKey string   `hcl:"private_key,optional"`
	Bastion    *Bastion `hcl:"bastion,block"`

	Body hcl.Body `hcl:",body"`
}

// Bastion is an optional jump host.
type Bastion struct {
	Host       string `hcl:"host"`
	Port       int    `hcl:"port,optional"`
	User       string `hcl:"user,optional"`
	PrivateKey string `hcl:"private_key,optional"`
	// HostKey is the bastion's public host key (authorized_keys format),
	// required: kprov never trusts an unknown host key.
	HostKey string `hcl:"host_key,optional"`

	Body hcl.Body `hcl:",body"`
}

// NodePool is a group of identical nodes.
type NodePool struct {
	Name  string `hcl:"name,label"`
	Role  string `hcl:"role"`
	Count *int   `hcl:"count,optional"`
	VCPU  int    `hcl:"vcpu,optional"`
	// Memory and DiskSize are sizes such as "2GiB" or "512MiB".
	Memory   string            `hcl:"memory,optional"`
	DiskSize string            `hcl:"disk_size,optional"`
	DiskBus  string            `hcl:"disk_bus,optional"`
	Labels   map[string]string `hcl:"labels,optional"`
	// Taints are "key[=value]:Effect".
	Taints []string `hcl:"taints,optional"`

	DefRange  hcl.Range `hcl:",def_range"`
	NameRange hcl.Range `hcl:"name,label_range"`
	Body      hcl.Body  `hcl:",body"`

	// Filled in by defaulting.
	MemoryMiB   int
	DiskSizeGiB int
}

// KubeProxy configures kube-proxy.
type KubeProxy struct {
	// Mode is ipvs, nftables or iptables.
	Mode          string `hcl:"mode,optional"`
	IPVSScheduler string `hcl:"ipvs_scheduler,optional"`

	Body hcl.Body `hcl:",body"`
}

// Calico configures the Calico CNI.
type Calico struct {
	Version string `hcl:"version,optional"`
	// Manifest is a URL or a local path.
	Manifest string `hcl:"manifest,optional"`
	SHA256   string `hcl:"sha256,optional"`
	// Encapsulation is none (pure BGP), ipip or vxlan.
	Encapsulation         string `hcl:"encapsulation,optional"`
	IPAutodetectionMethod string `hcl:"ip_autodetection_method,optional"`
	// MTU is "auto" (derived from the NIC MTU) or a number.
	MTU           string `hcl:"mtu,optional"`
	PoolCIDR      string `hcl:"pool_cidr,optional"`
	ImageRegistry string `hcl:"image_registry,optional"`

	Body hcl.Body `hcl:",body"`

	// Filled in by defaulting: the pod MTU.
	PodMTU int
}

// Ingress configures the ingress controller and its LoadBalancer Service.
type Ingress struct {
	// Controller is "traefik" (kprov writes Traefik's workload around its
	// published CRDs and ClusterRole) or "manifest" (kprov installs
	// Manifest as it is). The default is "manifest" when Manifest is set or
	// Kubernetes is 1.21 (Traefik v3 needs 1.22), else "traefik".
	Controller string `hcl:"controller,optional"`
	// Version is the Traefik release, such as "v3.6.12".
	Version  string `hcl:"version,optional"`
	Replicas *int   `hcl:"replicas,optional"`
	// CRDsManifest and RBACManifest are Traefik's published CRDs and
	// ClusterRole (URLs or local paths); the defaults are Version's.
	CRDsManifest string `hcl:"crds_manifest,optional"`
	CRDsSHA256   string `hcl:"crds_sha256,optional"`
	RBACManifest string `hcl:"rbac_manifest,optional"`
	RBACSHA256   string `hcl:"rbac_sha256,optional"`

	// Manifest is a URL or a local path (controller "manifest").
	Manifest              string   `hcl:"manifest,optional"`
	SHA256                string   `hcl:"sha256,optional"`
	Namespace             string   `hcl:"namespace,optional"`
	ServiceName           string   `hcl:"service_name,optional"`
	ExternalTrafficPolicy string   `hcl:"external_traffic_policy,optional"`
	Addresses             []string `hcl:"addresses,optional"`
	// LoadBalancer gives the Service its addresses where no cloud does:
	// "metallb" (layer 2, the default when addresses are set) or "none".
	LoadBalancer         string `hcl:"load_balancer,optional"`
	LoadBalancerManifest string `hcl:"load_balancer_manifest,optional"`
	LoadBalancerSHA256   string `hcl:"load_balancer_sha256,optional"`

	Body hcl.Body `hcl:",body"`
}

// NetworkPolicy configures default-deny policies.
type NetworkPolicy struct {
	// DefaultDenyNamespaces each get a default-deny NetworkPolicy.
	DefaultDenyNamespaces []string `hcl:"default_deny_namespaces,optional"`
	// DenyEgress adds Egress to those policies (DNS stays allowed).
	DenyEgress bool `hcl:"deny_egress,optional"`
	// GlobalDefaultDeny adds a Calico GlobalNetworkPolicy default-deny for
	// every namespace but the exempt ones.
	GlobalDefaultDeny bool     `hcl:"global_default_deny,optional"`
	ExemptNamespaces  []string `hcl:"exempt_namespaces,optional"`

	Body hcl.Body `hcl:",body"`
}

// Artifacts says where the Kubernetes binaries and containerd come from.
type Artifacts struct {
	// Mirror is a base URL for air-gapped labs; empty means upstream.
	Mirror            string `hcl:"mirror,optional"`
	ContainerdVersion string `hcl:"containerd_version,optional"`
	// CrictlVersion is the cri-tools release of crictl, such as "v1.21.0";
	// the default is v1.MINOR.0 of the Kubernetes version.
	CrictlVersion string            `hcl:"crictl_version,optional"`
	SHA256        map[string]string `hcl:"sha256,optional"`

	Body hcl.Body `hcl:",body"`
}

// Etcd configures the checks made for kubeadm's local etcd.
type Etcd struct {
	// DiskCheck is enforce (refuse a disk whose fdatasync p99 is 10 ms or
	// more, etcd's guidance), warn (report and go on) or off.
	DiskCheck string `hcl:"disk_check,optional"`

	Body hcl.Body `hcl:",body"`
}
