package plan

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/kprov/kprov/provision/spec"
)

// The DHCP host list is ordered by address whatever the order of nodes.
func TestNetworkIgnoresNodeOrder(t *testing.T) {
	c := cluster(t, "lab", cp(3), worker(30))
	nodes := mustNodes(t, c)
	a, err := Network(c, nodes)
	if err != nil {
		t.Fatal(err)
	}
	rev := make([]Node, len(nodes))
	for i, n := range nodes {
		rev[len(nodes)-1-i] = n
	}
	b, err := Network(c, rev)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(render(t, a), render(t, b)) {
		t.Fatal("reversing the nodes changed the network")
	}
	hosts := a.IPs[0].DHCP.Hosts
	if len(hosts) != 33 {
		t.Fatalf("got %d DHCP hosts", len(hosts))
	}
	for i := 1; i < len(hosts); i++ {
		if !netip.MustParseAddr(hosts[i-1].IP).Less(netip.MustParseAddr(hosts[i].IP)) {
			t.Fatalf("hosts out of order: %s before %s", hosts[i-1].IP, hosts[i].IP)
		}
	}
}

func TestNetworkErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*spec.Network)
		want string
	}{
		{"bridge without a bridge", func(n *spec.Network) { n.Mode = "bridge" }, "needs the name of a host bridge"},
		{"unknown mode", func(n *spec.Network) { n.Mode = "routed" }, `"routed" is not nat, isolated or bridge`},
		{"gateway outside", func(n *spec.Network) { n.Gateway = "10.99.0.1" }, "gateway 10.99.0.1 is outside node_cidr 10.17.0.0/24"},
		{"IPv6", func(n *spec.Network) { n.NodeCIDR, n.Gateway = "fd00::/64", "fd00::1" }, "only IPv4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cluster(t, "lab", cp(1))
			tc.edit(c.Network)
			_, err := Network(c, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestBridgeNameFitsIfname(t *testing.T) {
	if n := BridgeName(strings.Repeat("x", 63)); len(n) > 15 {
		t.Fatalf("%s is longer than 15 bytes", n)
	}
}
