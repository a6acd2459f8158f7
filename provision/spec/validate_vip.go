package spec

import (
	"net/netip"
	"slices"
	"time"
)

// apiVIP checks network.api_vip, and asks for one where kprov cannot pick
// it: several control planes on a bridge.
func (v *validator) apiVIP(node netip.Prefix, okNode bool) {
	n := v.c.Network
	if n.APIVIPLease != "" {
		d, err := time.ParseDuration(n.APIVIPLease)
		if err != nil || d < 5*time.Second || d > 2*time.Minute || d%time.Second != 0 {
			v.errorf(v.at(n.Body, "api_vip_lease"), "Invalid api_vip_lease", "%q: use whole seconds from 5s (kube-vip's default) to 2m, such as \"30s\" for control planes under software emulation.", n.APIVIPLease)
		}
	}
	if n.APIVIP == "" {
		if n.Mode == "bridge" && n.APIEndpoint == "" && v.c.ControlPlanes() > 1 {
			v.errorf(v.at(n.Body, "mode"), "No shared API address", "%d control planes need an API address they share, and on bridge %q kprov cannot know which address is free. Set network { api_vip = \"...\" } to a free address of %s (the control planes hold it with kube-vip), or api_endpoint to a load balancer of your own.", v.c.ControlPlanes(), n.Bridge, n.NodeCIDR)
		}
		return
	}
	at := v.at(n.Body, "api_vip")
	a, err := netip.ParseAddr(n.APIVIP)
	switch {
	case err != nil || !a.Is4():
		v.errorf(at, "Invalid api_vip", "%q is not an IPv4 address.", n.APIVIP)
	case n.APIEndpoint != "":
		v.errorf(at, "Both api_vip and api_endpoint", "api_vip makes the endpoint %s:6443, held by the control planes; api_endpoint names another. Keep one: api_vip for kprov's kube-vip, api_endpoint for a load balancer or DNS name of your own.", a)
	case okNode && (!node.Contains(a) || a == node.Addr() || a == lastAddr(node)):
		v.errorf(at, "api_vip outside node network", "%s must be a host address of node_cidr %s: the control planes answer ARP for it there. %s is free on kprov's own networks.", a, node, DefaultAPIVIP(node, netip.MustParseAddr(orZero(n.Gateway))))
	case n.APIVIP == n.Gateway:
		v.errorf(at, "api_vip is the gateway", "%s is the network gateway; pick another address of %s, such as %s.", a, node, DefaultAPIVIP(node, a))
	case v.c.Ingress != nil && slices.Contains(v.c.Ingress.Addresses, n.APIVIP):
		v.errorf(at, "api_vip is an ingress address", "%s is also in ingress { addresses }: the load balancer and kube-vip would both answer ARP for it. Pick another address.", a)
	}
}

// orZero is s, or 0.0.0.0 when s is not an address.
func orZero(s string) string {
	if _, err := netip.ParseAddr(s); err != nil {
		return "0.0.0.0"
	}
	return s
}
