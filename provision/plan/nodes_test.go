package plan

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestNodesDeterministic(t *testing.T) {
	a := mustNodes(t, cluster(t, "lab", cp(3), worker(20)))
	b := mustNodes(t, cluster(t, "lab", cp(3), worker(20)))
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two plans of the same spec differ")
	}
	// Pinned values: a change here moves every existing cluster's nodes.
	want := map[string][2]string{
		"cp-1":     {"10.17.0.67", "52:54:00:73:52:bc"},
		"worker-1": {"10.17.0.172", "52:54:00:e3:74:c6"},
	}
	for _, n := range a {
		if w, ok := want[n.Name]; ok && (n.IP.String() != w[0] || n.MAC != w[1]) {
			t.Errorf("%s: got %s %s, want %s %s", n.Name, n.IP, n.MAC, w[0], w[1])
		}
	}
}

func TestNodesPoolOrderDoesNotMatter(t *testing.T) {
	a := mustNodes(t, cluster(t, "lab", cp(3), worker(40)))
	b := mustNodes(t, cluster(t, "lab", worker(40), cp(3)))
	byName := map[string]Node{}
	for _, n := range b {
		byName[n.Name] = n
	}
	for _, n := range a {
		if m := byName[n.Name]; m.IP != n.IP || m.MAC != n.MAC {
			t.Errorf("%s: %s %s with control plane first, %s %s with workers first", n.Name, n.IP, n.MAC, m.IP, m.MAC)
		}
	}
}

// Growing the worker pool one node at a time must never move a node that
// already exists, even though hashes collide often in a /24.
func TestNodesStableWhenPoolGrows(t *testing.T) {
	prev := map[string]Node{}
	for workers := 1; workers <= 120; workers++ {
		for _, n := range mustNodes(t, cluster(t, "lab", cp(3), worker(workers))) {
			if p, ok := prev[n.Name]; ok && (p.IP != n.IP || p.MAC != n.MAC) {
				t.Fatalf("growing worker to %d moved %s from %s %s to %s %s", workers, n.Name, p.IP, p.MAC, n.IP, n.MAC)
			}
			prev[n.Name] = n
		}
	}
}

// Growing any pool never moves a node whose index is at most the grown
// pool's old size: addresses are handed out by index first.
func TestNodesStableWhenAnyPoolGrows(t *testing.T) {
	for grown := 0; grown < 3; grown++ {
		sizes := []int{3, 5, 8}
		prev := map[string]Node{}
		for step := 0; step < 30; step++ {
			c := cluster(t, "grow", poolDef{"a", "worker", sizes[0]}, poolDef{"b", "worker", sizes[1]}, poolDef{"c", "worker", sizes[2]})
			for _, n := range mustNodes(t, c) {
				if p, ok := prev[n.Name]; ok && n.Index <= sizes[grown]-1 && (p.IP != n.IP || p.MAC != n.MAC) {
					t.Fatalf("growing pool %d to %d moved %s from %s to %s", grown, sizes[grown], n.Name, p.IP, n.IP)
				}
				prev[n.Name] = n
			}
			sizes[grown]++
		}
	}
}

func TestNodesThousandInSlash20(t *testing.T) {
	c := cluster(t, "big", cp(3), worker(997))
	c.Network.NodeCIDR = "10.40.16.0/20"
	nodes := mustNodes(t, c)
	if len(nodes) != 1000 {
		t.Fatalf("got %d nodes", len(nodes))
	}
	assertDistinct(t, nodes)
	prefix := netip.MustParsePrefix(c.Network.NodeCIDR)
	for _, n := range nodes {
		if !prefix.Contains(n.IP) {
			t.Errorf("%s: %s outside %s", n.Name, n.IP, prefix)
		}
	}
}

func assertDistinct(t *testing.T, nodes []Node) {
	t.Helper()
	ips, macs := map[netip.Addr]string{}, map[string]string{}
	for _, n := range nodes {
		if o, ok := ips[n.IP]; ok {
			t.Errorf("%s and %s share %s", o, n.Name, n.IP)
		}
		if o, ok := macs[n.MAC]; ok {
			t.Errorf("%s and %s share %s", o, n.Name, n.MAC)
		}
		ips[n.IP], macs[n.MAC] = n.Name, n.Name
		if !strings.HasPrefix(n.MAC, "52:54:00:") {
			t.Errorf("%s: MAC %s outside QEMU's 52:54:00 prefix", n.Name, n.MAC)
		}
	}
}

// A /26 holds 64-2-10 = 52 node addresses: fill it completely with the
// gateway and two excluded addresses taken out, and check none is used.
func TestNodesNeverUseReservedOrExcluded(t *testing.T) {
	excl := []netip.Addr{netip.MustParseAddr("10.9.0.20"), netip.MustParseAddr("10.9.0.62")}
	c := cluster(t, "full", cp(1), worker(48))
	c.Network.NodeCIDR = "10.9.0.0/26"
	c.Network.Gateway = "10.9.0.33"
	nodes, err := Nodes(c, excl...)
	if err != nil {
		t.Fatal(err)
	}
	assertDistinct(t, nodes)
	for _, n := range nodes {
		last := int(n.IP.As4()[3])
		switch {
		case last <= Reserved:
			t.Errorf("%s got reserved address %s", n.Name, n.IP)
		case last == 63:
			t.Errorf("%s got the broadcast address", n.Name)
		case n.IP == excl[0] || n.IP == excl[1] || n.IP.String() == "10.9.0.33":
			t.Errorf("%s got excluded address %s", n.Name, n.IP)
		}
	}
}

func TestNodesDoNotFit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		exclude []netip.Addr
		want    string
	}{
		{"more nodes than addresses", 52, nil, "53 nodes do not fit node_cidr 10.9.0.0/26 (52 usable addresses)"},
		{"exclusions take the last address", 51, []netip.Addr{netip.MustParseAddr("10.9.0.40")}, "no free address in node_cidr 10.9.0.0/26"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cluster(t, "full", cp(1), worker(tc.workers))
			c.Network.NodeCIDR = "10.9.0.0/26"
			_, err := Nodes(c, tc.exclude...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestNodesExpandPools(t *testing.T) {
	c := cluster(t, "lab", cp(1), worker(2))
	c.NodePools[1].Labels = map[string]string{"tier": "web"}
	nodes := mustNodes(t, c)
	var got []string
	for _, n := range nodes {
		got = append(got, fmt.Sprintf("%s %s %s %d %s", n.Name, n.Domain, n.Role, n.Index, n.DiskBus))
	}
	want := []string{
		"cp-1 kprov-lab-cp-1 control-plane 1 nvme",
		"worker-1 kprov-lab-worker-1 worker 1 nvme",
		"worker-2 kprov-lab-worker-2 worker 2 nvme",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// Each node owns its labels: changing one must not change its siblings.
	nodes[1].Labels["tier"] = "db"
	if nodes[2].Labels["tier"] != "web" || c.NodePools[1].Labels["tier"] != "web" {
		t.Fatal("nodes share their pool's label map")
	}
}
