package plan

import (
	"testing"

	"github.com/kprov/kprov/provision/spec"
)

// cluster is a normalized spec with the given pools; each pool is "name",
// role and count. Tests mutate the result before planning.
func cluster(t testing.TB, name string, pools ...poolDef) *spec.Cluster {
	t.Helper()
	c := &spec.Cluster{Name: name, Image: &spec.Image{Source: "/srv/images/debian-12.qcow2"}}
	for _, p := range pools {
		n := p.count
		c.NodePools = append(c.NodePools, &spec.NodePool{Name: p.name, Role: p.role, Count: &n})
	}
	if err := spec.Normalize(c); err != nil {
		t.Fatal(err)
	}
	return c
}

type poolDef struct {
	name, role string
	count      int
}

func cp(n int) poolDef     { return poolDef{"cp", spec.RoleControlPlane, n} }
func worker(n int) poolDef { return poolDef{"worker", spec.RoleWorker, n} }

func mustNodes(t testing.TB, c *spec.Cluster) []Node {
	t.Helper()
	nodes, err := Nodes(c)
	if err != nil {
		t.Fatal(err)
	}
	return nodes
}
