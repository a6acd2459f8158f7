// Package artifacts assembles every file kprov would create for a cluster
// (libvirt definitions, cloud-init seeds, kubeadm configurations, node
// preparation files) from a validated spec and its state. It is pure: the
// same spec and state give the same bytes.
package artifacts

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"

	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/bootstrap/nodeprep"
	"github.com/kprov/kprov/provision/cloudinit"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// File is one rendered artifact.
type File struct {
	Path   string // slash-separated, relative to the output folder
	Data   []byte
	Secret bool // holds key material or join credentials: written 0600
	Node   string
}

// Set is every artifact of a cluster, sorted by path.
type Set struct {
	Nodes      []plan.Node
	Host       plan.Host
	APIVersion string
	Files      []File
	// Defs are the libvirt objects Files hold as XML, for up to define.
	Defs *plan.Definitions
	// Seeds are the cloud-init files Files hold and their ISO, for up.
	Seeds Seeds
}

// Nodes plans the cluster's nodes, keeping the ingress addresses and the
// API's virtual address free.
func Nodes(c *spec.Cluster) ([]plan.Node, error) {
	var exclude []netip.Addr
	if vip, ok := c.APIVIP(); ok {
		exclude = append(exclude, vip)
	}
	if c.Ingress != nil {
		for _, a := range c.Ingress.Addresses {
			if ip, err := netip.ParseAddr(a); err == nil {
				exclude = append(exclude, ip)
			}
		}
	}
	return plan.Nodes(c, exclude...)
}

// Build renders every artifact of c for host h. Secrets come from the
// state folder and must cover every node.
func Build(c *spec.Cluster, nodes []plan.Node, h plan.Host, secrets *state.Secrets) (*Set, error) {
	apiVersion, err := kubeadm.APIVersion(c.Kubernetes())
	if err != nil {
		return nil, err
	}
	set := &Set{Nodes: nodes, Host: h, APIVersion: apiVersion}
	add := func(p string, data []byte, secret bool, node string) {
		set.Files = append(set.Files, File{Path: p, Data: data, Secret: secret, Node: node})
	}
	xml := func(p string, v plan.Marshaler, node string) error {
		b, err := plan.Render(v)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		add(p, b, false, node)
		return nil
	}

	defs, err := plan.Define(c, nodes, h, Hashes(c, nodes))
	if err != nil {
		return nil, err
	}
	set.Defs = defs
	if err := xml("libvirt/network.xml", defs.Network, ""); err != nil {
		return nil, err
	}
	if err := xml("libvirt/pool.xml", defs.Pool, ""); err != nil {
		return nil, err
	}
	// The base image and seed ISO sizes are known only when they are
	// uploaded; the plan shows them as 0 bytes.
	if err := xml("libvirt/volumes/"+plan.BaseVolumeName(c)+".xml", plan.BaseVolume(c, 0), ""); err != nil {
		return nil, err
	}
	prep, err := nodeprep.For(c, nodeprep.ModernKernel)
	if err != nil {
		return nil, err
	}
	seeds, err := NodeSeeds(c, nodes, secrets)
	if err != nil {
		return nil, err
	}
	set.Seeds = seeds
	configs, err := KubeadmConfigs(c, nodes, secrets)
	if err != nil {
		return nil, err
	}
	first, _ := plan.FirstControlPlane(nodes)
	for _, n := range nodes {
		dir := "nodes/" + n.Name + "/"
		if err := xml("libvirt/volumes/"+plan.OverlayVolumeName(n)+".xml", plan.OverlayVolume(c, n), n.Name); err != nil {
			return nil, err
		}
		if err := xml("libvirt/volumes/"+plan.SeedVolumeName(n)+".xml", plan.SeedVolume(n, 0), n.Name); err != nil {
			return nil, err
		}
		if err := xml("libvirt/domains/"+n.Domain+".xml", defs.Domains[n.Name], n.Name); err != nil {
			return nil, err
		}
		seed := seeds.Files[n.Name]
		add(dir+"cloud-init/"+cloudinit.MetaDataFile, seed.MetaData, false, n.Name)
		add(dir+"cloud-init/"+cloudinit.UserDataFile, seed.UserData, true, n.Name)
		add(dir+"cloud-init/"+cloudinit.NetworkConfigFile, seed.NetworkConfig, false, n.Name)
		for _, f := range prep.Files {
			add(dir+"prepare"+f.Path, f.Content, false, n.Name)
		}
		name := "join.yaml"
		if n.Name == first.Name {
			name = "init.yaml"
		}
		add(dir+"kubeadm/"+name, configs[n.Name], true, n.Name)
		if err := addVIPPods(c, n, n.Name == first.Name, func(p string, data []byte) { add(dir+p, data, false, n.Name) }); err != nil {
			return nil, err
		}
		// kubeadm reads these from kubeadm.PatchesDir on the node.
		for name, patch := range c.Kubeadm.Patches {
			add(dir+"kubeadm/patches/"+name, []byte(patch), false, n.Name)
		}
	}
	sort.Slice(set.Files, func(i, j int) bool { return set.Files[i].Path < set.Files[j].Path })
	return set, nil
}

// NodeHash identifies what a node's definition was built from, so a later
// run can tell a drifted domain from a current one: the planned node and
// the image. The Kubernetes version is not in it: a newer version is an
// upgrade in place (bootstrap/phases), not a new VM.
func NodeHash(c *spec.Cluster, n plan.Node) string {
	b, _ := json.Marshal(struct {
		Node     plan.Node
		Image    string
		ImageSum string
	}{n, c.Image.Source, c.Image.SHA256})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// LegacyNodeHash is the hash kprov recorded before upgrades existed, with
// the Kubernetes version in it: a domain made then, at the spec's version,
// is current, not drifted.
func LegacyNodeHash(c *spec.Cluster, n plan.Node) string {
	b, _ := json.Marshal(struct {
		Node       plan.Node
		Image      string
		ImageSum   string
		Kubernetes string
	}{n, c.Image.Source, c.Image.SHA256, c.KubernetesVersion})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// addVIPPods adds a control plane's kube-vip static pod when the cluster
// has a virtual API address: kubeadm/kube-vip.yaml, and on the first
// control plane kubeadm/kube-vip-init.yaml when init needs another
// kubeconfig (kubeadm.VIPKubeconfig).
func addVIPPods(c *spec.Cluster, n plan.Node, first bool, add func(path string, data []byte)) error {
	vip, ok := c.APIVIP()
	if !ok || n.Role != spec.RoleControlPlane {
		return nil
	}
	pod, err := kubeadm.VIPPod(vip, c.APIVIPLease(), kubeadm.AdminConfPath)
	if err != nil {
		return err
	}
	add("kubeadm/kube-vip.yaml", pod)
	if kc := kubeadm.VIPKubeconfig(c, true); first && kc != kubeadm.AdminConfPath {
		pod, err := kubeadm.VIPPod(vip, c.APIVIPLease(), kc)
		if err != nil {
			return err
		}
		add("kubeadm/kube-vip-init.yaml", pod)
	}
	return nil
}
