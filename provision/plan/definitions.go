package plan

import (
	"fmt"

	"libvirt.org/go/libvirtxml"

	"github.com/kprov/kprov/provision/spec"
)

// Definitions are a cluster's libvirt objects for one host: the objects
// render writes and up defines, built once.
type Definitions struct {
	Network *libvirtxml.Network
	Pool    *libvirtxml.StoragePool
	// Domains are by node name; each records hashes[node] in its metadata.
	Domains map[string]*libvirtxml.Domain
}

// Define plans the network, the pool and every node's domain on host h.
func Define(c *spec.Cluster, nodes []Node, h Host, hashes map[string]string) (*Definitions, error) {
	net, err := Network(c, nodes)
	if err != nil {
		return nil, err
	}
	d := &Definitions{Network: net, Pool: Pool(c), Domains: map[string]*libvirtxml.Domain{}}
	for _, n := range nodes {
		if d.Domains[n.Name], err = Domain(c, n, h, hashes[n.Name]); err != nil {
			return nil, fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	return d, nil
}
