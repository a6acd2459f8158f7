package spec

import (
	"net"
	"net/netip"
	"regexp"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"k8s.io/apimachinery/pkg/util/validation"
)

// ReservedAddresses is how many addresses at the start of the node CIDR,
// after the network address, are kept for the gateway and infrastructure.
const ReservedAddresses = 10

// NodeSlots is how many node addresses a node CIDR holds: all but the
// network, broadcast and reserved addresses.
func NodeSlots(p netip.Prefix) int {
	bits := p.Addr().BitLen() - p.Bits()
	if bits >= 31 {
		return 1 << 30
	}
	return max(0, (1<<bits)-2-ReservedAddresses)
}

var ifName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,15}$`)

func (v *validator) network() {
	n := v.c.Network
	if v.oneOf(n.Body, "mode", n.Mode, "nat", "isolated", "bridge") {
		switch {
		case n.Mode == "bridge" && !ifName.MatchString(n.Bridge):
			v.errorf(v.at(n.Body, "bridge"), "Invalid bridge", "Mode \"bridge\" attaches nodes to an existing host bridge: set bridge to its interface name (at most 15 letters, digits, '_', '.', '-'), such as \"br0\".")
		case n.Mode != "bridge" && n.Bridge != "":
			v.errorf(v.at(n.Body, "bridge"), "Bridge without bridge mode", "bridge is used only with mode = \"bridge\"; remove it or set the mode.")
		}
	}
	if n.MTU < 1280 || n.MTU > 9000 {
		v.errorf(v.at(n.Body, "mtu"), "Invalid MTU", "%d is outside 1280-9000; the usual Ethernet MTU is 1500.", n.MTU)
	}
	if errs := validation.IsDNS1123Subdomain(n.DNSDomain); len(errs) > 0 {
		v.errorf(v.at(n.Body, "dns_domain"), "Invalid dns_domain", "%q: %s.", n.DNSDomain, strings.Join(errs, "; "))
	}
	for i, ns := range n.Nameservers {
		if a, err := netip.ParseAddr(ns); err != nil || a.Zone() != "" {
			v.errorf(v.elem(n.Body, "nameservers", i, ""), "Invalid nameserver", "%q: use an IP address of a DNS server the nodes can reach, such as \"192.168.1.1\".", ns)
		}
	}
	if n.Mode == "bridge" && len(n.Nameservers) == 0 {
		v.warnf(v.at(n.Body, "mode"), "Nodes without DNS", "On bridge %q the nodes get static addresses and no DNS server, so pods resolve only the cluster's own names (kprov takes the forward to /etc/resolv.conf out of CoreDNS's Corefile, which would not start without one). Set network { nameservers = [\"...\"] } to the DNS server of that network.", n.Bridge)
	}
	// A /28 is the smallest that leaves node addresses after the reserved
	// ones (16 - network, broadcast, ReservedAddresses = 4).
	node, okNode := v.prefix(n.Body, "node_cidr", n.NodeCIDR, 28)
	pod, okPod := v.prefix(n.Body, "pod_cidr", n.PodCIDR, 24)
	svc, okSvc := v.prefix(n.Body, "service_cidr", n.ServiceCIDR, 30)
	if okSvc && svc.Bits() < 12 {
		v.errorf(v.at(n.Body, "service_cidr"), "Service CIDR too large", "%s: Kubernetes accepts at most a /12 for services (the default is 10.96.0.0/12).", n.ServiceCIDR)
	}
	named := []struct {
		attr string
		p    netip.Prefix
		ok   bool
	}{{"node_cidr", node, okNode}, {"pod_cidr", pod, okPod}, {"service_cidr", svc, okSvc}}
	for i := range named {
		for j := i + 1; j < len(named); j++ {
			a, b := named[i], named[j]
			if a.ok && b.ok && a.p.Overlaps(b.p) {
				// Point at whichever of the two the user wrote.
				at := v.at(n.Body, b.attr)
				if !written(n.Body, b.attr) && written(n.Body, a.attr) {
					at = v.at(n.Body, a.attr)
				}
				v.errorf(at, "Overlapping address ranges", "%s %s overlaps %s %s; every range must be disjoint so routing stays unambiguous.", b.attr, b.p, a.attr, a.p)
			}
		}
	}
	if okNode {
		v.gateway(node)
		v.nodeCount(node)
	}
	if okPod {
		total := v.totalNodes()
		if room := 1 << (24 - pod.Bits()); total > room {
			v.errorf(v.at(n.Body, "pod_cidr"), "Pod CIDR too small", "%s gives %d node /24 ranges but the spec has %d nodes; use a larger pod_cidr.", pod, room, total)
		}
	}
	if n.APIEndpoint != "" {
		host := n.APIEndpoint
		if h, port, err := net.SplitHostPort(n.APIEndpoint); err == nil {
			host = h
			if port == "" || strings.Trim(port, "0123456789") != "" {
				host = ""
			}
		}
		if _, err := netip.ParseAddr(host); err != nil && len(validation.IsDNS1123Subdomain(host)) > 0 {
			v.errorf(v.at(n.Body, "api_endpoint"), "Invalid api_endpoint", "%q: use an address or DNS name, optionally with :port.", n.APIEndpoint)
		}
	}
	v.apiVIP(node, okNode)
	v.calicoNetwork(pod, okPod)
	v.ingressAddresses(node, okNode)
}

// prefix parses an IPv4 CIDR that must leave room: at most maxBits.
func (v *validator) prefix(b hcl.Body, attr, s string, maxBits int) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		v.errorf(v.at(b, attr), "Invalid "+attr, "%q is not a CIDR such as 10.17.0.0/24.", s)
	case !p.Addr().Is4():
		v.errorf(v.at(b, attr), "Invalid "+attr, "%s: kprov builds IPv4 clusters; use an IPv4 CIDR.", s)
	case p.Masked() != p:
		v.errorf(v.at(b, attr), "Invalid "+attr, "%s has host bits set; did you mean %s?", s, p.Masked())
	case p.Bits() > maxBits:
		v.errorf(v.at(b, attr), "Invalid "+attr, "%s is too small: use at most a /%d.", s, maxBits)
	default:
		return p, true
	}
	return netip.Prefix{}, false
}

func (v *validator) gateway(node netip.Prefix) {
	n := v.c.Network
	gw, err := netip.ParseAddr(n.Gateway)
	last := lastAddr(node)
	switch {
	case err != nil:
		v.errorf(v.at(n.Body, "gateway"), "Invalid gateway", "%q is not an IPv4 address.", n.Gateway)
	case !node.Contains(gw) || gw == node.Addr() || gw == last:
		v.errorf(v.at(n.Body, "gateway"), "Gateway outside node CIDR", "%s must be a host address inside node_cidr %s, such as %s.", gw, node, node.Addr().Next())
	}
}

func (v *validator) totalNodes() int {
	total := 0
	for _, p := range v.c.NodePools {
		if p.Count != nil && *p.Count > 0 {
			total += *p.Count
		}
	}
	return total
}

func (v *validator) nodeCount(node netip.Prefix) {
	total, slots := v.totalNodes(), NodeSlots(node)
	if total > slots {
		v.errorf(v.at(v.c.Network.Body, "node_cidr"), "Too many nodes for node CIDR",
			"The node pools ask for %d nodes but %s holds %d node addresses (the first %d are reserved); use a larger node_cidr or fewer nodes.",
			total, node, slots, ReservedAddresses)
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Addr().As4()
	hostBits := 32 - p.Bits()
	for i := 3; i >= 0 && hostBits > 0; i-- {
		take := min(hostBits, 8)
		a[i] |= byte(1<<take - 1)
		hostBits -= take
	}
	return netip.AddrFrom4(a)
}
