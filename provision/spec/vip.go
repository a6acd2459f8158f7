package spec

import (
	"net/netip"
	"time"
)

// ControlPlanes is how many control-plane nodes the spec asks for.
func (c *Cluster) ControlPlanes() int {
	n := 0
	for _, p := range c.NodePools {
		if p.Role == RoleControlPlane && p.Count != nil {
			n += *p.Count
		}
	}
	return n
}

// APIVIP is the virtual address the control planes hold (kube-vip in ARP
// mode) and the API endpoint, and whether there is one: network.api_vip
// when written; else, with more than one control plane, no api_endpoint
// and a network kprov owns (nat or isolated), DefaultAPIVIP of node_cidr.
// On a bridge kprov cannot know a free address, so validation asks for one.
func (c *Cluster) APIVIP() (netip.Addr, bool) {
	n := c.Network
	if n == nil {
		return netip.Addr{}, false
	}
	if n.APIVIP != "" {
		a, err := netip.ParseAddr(n.APIVIP)
		return a, err == nil
	}
	if n.APIEndpoint != "" || n.Mode == "bridge" || c.ControlPlanes() < 2 {
		return netip.Addr{}, false
	}
	p, err := netip.ParsePrefix(n.NodeCIDR)
	if err != nil {
		return netip.Addr{}, false
	}
	gw, _ := netip.ParseAddr(n.Gateway)
	return DefaultAPIVIP(p.Masked(), gw), true
}

// DefaultAPIVIP is the highest of node's reserved addresses (which nodes
// never get) that is not the gateway: 10.17.0.10 in 10.17.0.0/24.
func DefaultAPIVIP(node netip.Prefix, gateway netip.Addr) netip.Addr {
	a := node.Addr()
	for range ReservedAddresses {
		a = a.Next()
	}
	if a == gateway {
		a = a.Prev()
	}
	return a
}

// DefaultAPIVIPLease is kube-vip's own lease duration.
const DefaultAPIVIPLease = 5 * time.Second

// APIVIPLease is how long kube-vip's lease on the address lasts
// (network.api_vip_lease, else DefaultAPIVIPLease): a holder that cannot
// renew it within 3/5 of that (its API server too slow) gives the address
// up, and another takes it after the lease ends. Valid after Check.
func (c *Cluster) APIVIPLease() time.Duration {
	if c.Network == nil || c.Network.APIVIPLease == "" {
		return DefaultAPIVIPLease
	}
	d, _ := time.ParseDuration(c.Network.APIVIPLease)
	return d
}
