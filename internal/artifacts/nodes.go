package artifacts

import (
	"fmt"

	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/provision/cloudinit"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/secrets"
	"github.com/kprov/kprov/provision/seed"
	"github.com/kprov/kprov/provision/spec"
)

// Seeds are each node's cloud-init files, as render writes them, and the
// NoCloud ISO made of exactly those files, as up uploads it.
type Seeds struct {
	Files map[string]cloudinit.Seed
	ISO   map[string][]byte
}

// NodeSeeds builds every node's seed: the one path from spec to seed for
// render, plan and up.
func NodeSeeds(c *spec.Cluster, nodes []plan.Node, s *secrets.Secrets) (Seeds, error) {
	out := Seeds{Files: map[string]cloudinit.Seed{}, ISO: map[string][]byte{}}
	for _, n := range nodes {
		files, err := cloudinit.Files(c, n, s)
		if err != nil {
			return Seeds{}, fmt.Errorf("node %s: cloud-init: %w", n.Name, err)
		}
		iso, err := seed.ISO(files)
		if err != nil {
			return Seeds{}, fmt.Errorf("node %s: seed ISO: %w", n.Name, err)
		}
		out.Files[n.Name], out.ISO[n.Name] = files, iso
	}
	return out, nil
}

// Hashes is each node's definition hash (NodeHash).
func Hashes(c *spec.Cluster, nodes []plan.Node) map[string]string {
	out := map[string]string{}
	for _, n := range nodes {
		out[n.Name] = NodeHash(c, n)
	}
	return out
}

// LegacyHashes is each node's LegacyNodeHash.
func LegacyHashes(c *spec.Cluster, nodes []plan.Node) map[string]string {
	out := map[string]string{}
	for _, n := range nodes {
		out[n.Name] = LegacyNodeHash(c, n)
	}
	return out
}

// KubeadmConfigs is each node's kubeadm configuration: init for the first
// control plane, join for the others. render writes these bytes and up
// runs kubeadm with them.
func KubeadmConfigs(c *spec.Cluster, nodes []plan.Node, s *secrets.Secrets) (map[string][]byte, error) {
	in := kubeadm.Input{Cluster: c, Nodes: nodes, Secrets: s}
	first, _ := plan.FirstControlPlane(nodes)
	out := map[string][]byte{}
	for _, n := range nodes {
		var cfg []byte
		var err error
		if n.Name == first.Name {
			cfg, err = kubeadm.InitConfig(in)
		} else {
			cfg, err = kubeadm.JoinConfig(in, n)
		}
		if err != nil {
			return nil, fmt.Errorf("node %s: kubeadm: %w", n.Name, err)
		}
		out[n.Name] = cfg
	}
	return out, nil
}
