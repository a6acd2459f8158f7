package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"

	"libvirt.org/go/libvirtxml"

	"github.com/kprov/kprov/provision/spec"
)

// ResourceName is the name of a cluster's libvirt network and storage pool.
func ResourceName(cluster string) string { return "kprov-" + cluster }

// BridgeName is the host bridge libvirt creates for a nat or isolated
// network: fixed, so that the live network matches the plan, and short
// enough for a Linux interface name (15 bytes).
func BridgeName(cluster string) string {
	h := sha256.Sum256([]byte(cluster))
	return "kprov-" + hex.EncodeToString(h[:4])
}

// NodeNetwork is the node CIDR and the host's address on it: the spec's gateway,
// else the first address of node_cidr.
func NodeNetwork(c *spec.Cluster) (netip.Prefix, netip.Addr, error) {
	prefix, err := netip.ParsePrefix(c.Network.NodeCIDR)
	if err != nil {
		return netip.Prefix{}, netip.Addr{}, fmt.Errorf("node_cidr: %w", err)
	}
	prefix = prefix.Masked()
	if c.Network.Gateway == "" {
		return prefix, prefix.Addr().Next(), nil
	}
	gw, err := netip.ParseAddr(c.Network.Gateway)
	if err != nil {
		return prefix, gw, fmt.Errorf("gateway: %w", err)
	}
	return prefix, gw, nil
}

// Network plans the libvirt network of c. In nat and isolated mode libvirt
// owns the bridge and hands each node its address by DHCP (MAC -> IP, no
// dynamic range); in bridge mode the nodes join an existing host bridge and
// libvirt manages no addresses at all.
func Network(c *spec.Cluster, nodes []Node) (*libvirtxml.Network, error) {
	n := &libvirtxml.Network{Name: ResourceName(c.Name)}
	mode := c.Network.Mode
	if mode == "bridge" {
		if c.Network.Bridge == "" {
			return nil, fmt.Errorf("network mode bridge needs the name of a host bridge")
		}
		// libvirt refuses <mtu> here: the host bridge's own MTU applies.
		n.Forward = &libvirtxml.NetworkForward{Mode: "bridge"}
		n.Bridge = &libvirtxml.NetworkBridge{Name: c.Network.Bridge}
		return n, nil
	}
	switch mode {
	case "nat":
		n.Forward = &libvirtxml.NetworkForward{Mode: "nat"}
	case "isolated":
		// No <forward>: nothing leaves the host. No DNS either, since
		// there is nothing to forward queries to.
		n.DNS = &libvirtxml.NetworkDNS{Enable: "no"}
	default:
		return nil, fmt.Errorf("network mode %q is not nat, isolated or bridge", mode)
	}
	prefix, gw, err := NodeNetwork(c)
	if err != nil {
		return nil, err
	}
	if !prefix.Addr().Is4() {
		return nil, fmt.Errorf("node_cidr %s: only IPv4 node networks are supported", prefix)
	}
	if !prefix.Contains(gw) {
		return nil, fmt.Errorf("gateway %s is outside node_cidr %s", gw, prefix)
	}
	n.Bridge = &libvirtxml.NetworkBridge{Name: BridgeName(c.Name), STP: "on", Delay: "0"}
	if c.Network.MTU > 0 {
		n.MTU = &libvirtxml.NetworkMTU{Size: uint(c.Network.MTU)}
	}
	sorted := append([]Node(nil), nodes...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].IP.Less(sorted[j].IP) })
	dhcp := &libvirtxml.NetworkDHCP{}
	for _, node := range sorted {
		dhcp.Hosts = append(dhcp.Hosts, libvirtxml.NetworkDHCPHost{
			MAC: node.MAC, Name: node.Name, IP: node.IP.String(),
		})
	}
	n.IPs = []libvirtxml.NetworkIP{{Address: gw.String(), Prefix: uint(prefix.Bits()), DHCP: dhcp}}
	return n, nil
}
