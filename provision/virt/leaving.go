package virt

import (
	"context"
	"net/netip"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/kprov/kprov/provision/plan"
)

// Leaving is a node whose domain is tagged for the cluster but that the
// spec no longer plans (a lower count, a removed pool): scaling down takes
// it out of the cluster, then removes it.
type Leaving struct {
	Node, Role, Domain string
	// MAC is its NIC's; IP the address the network's DHCP host entry
	// gives that MAC (invalid when there is none).
	MAC string
	IP  netip.Addr
}

// Leaving lists the cluster's leaving nodes, by domain name.
func (p *Provisioner) Leaving(ctx context.Context) ([]Leaving, error) {
	planned := map[string]bool{}
	for _, n := range p.Nodes {
		planned[n.Domain] = true
	}
	gone, err := p.leftovers(planned)
	if err != nil || len(gone) == 0 {
		return nil, err
	}
	hosts, err := p.dhcpHosts()
	if err != nil {
		return nil, err
	}
	l := p.Conn.l
	var out []Leaving
	for _, g := range gone {
		dom, err := l.DomainLookupByName(g.Name)
		if err != nil {
			return nil, wrap("look up domain "+g.Name, err)
		}
		d, err := definition(l, dom)
		if err != nil {
			return nil, err
		}
		m, _, err := plan.ParseNodeMeta(d)
		if err != nil {
			return nil, wrap("read domain "+g.Name, err)
		}
		lv := Leaving{Node: m.Node, Role: m.Role, Domain: g.Name}
		for _, iface := range d.Devices.Interfaces {
			if iface.MAC != nil {
				lv.MAC = strings.ToLower(iface.MAC.Address)
				lv.IP = hosts[lv.MAC].ip
				break
			}
		}
		out = append(out, lv)
	}
	return out, nil
}

type dhcpHost struct {
	ip   netip.Addr
	host libvirtxml.NetworkDHCPHost
}

// dhcpHosts are the live network's DHCP host entries, by lower-case MAC.
func (p *Provisioner) dhcpHosts() (map[string]dhcpHost, error) {
	l := p.Conn.l
	net, err := l.NetworkLookupByName(p.name())
	if notFound(err) {
		return map[string]dhcpHost{}, nil
	}
	if err != nil {
		return nil, wrap("look up network "+p.name(), err)
	}
	have, err := p.liveNetwork(net)
	if err != nil {
		return nil, err
	}
	out := map[string]dhcpHost{}
	for _, ip := range have.IPs {
		if ip.DHCP == nil {
			continue
		}
		for _, h := range ip.DHCP.Hosts {
			a, _ := netip.ParseAddr(h.IP)
			out[strings.ToLower(h.MAC)] = dhcpHost{ip: a, host: h}
		}
	}
	return out, nil
}

// RemoveLeaving removes a leaving node from the host: its domain, disk and
// seed, and its DHCP host entry. Repeating it is safe.
func (p *Provisioner) RemoveLeaving(ctx context.Context, lv Leaving) error {
	l := p.Conn.l
	dom, err := l.DomainLookupByName(lv.Domain)
	switch {
	case err == nil:
		if err := removeDomain(l, &p.counter, dom); err != nil {
			return wrap("remove domain "+lv.Domain, err)
		}
	case !notFound(err):
		return wrap("look up domain "+lv.Domain, err)
	}
	pool, err := p.pool()
	if err != nil {
		return err
	}
	n := plan.Node{Name: lv.Node, Domain: lv.Domain}
	for _, name := range []string{plan.OverlayVolumeName(n), plan.SeedVolumeName(n)} {
		if err := deleteVolume(l, &p.counter, pool, name); err != nil {
			return err
		}
	}
	hosts, err := p.dhcpHosts()
	if err != nil {
		return err
	}
	h, ok := hosts[lv.MAC]
	if lv.MAC == "" || !ok {
		p.logf("%s: removed", lv.Node)
		return nil
	}
	net, err := l.NetworkLookupByName(p.name())
	if err != nil {
		return wrap("look up network "+p.name(), err)
	}
	hx, err := (&h.host).Marshal()
	if err != nil {
		return err
	}
	flags := libvirt.NetworkUpdateAffectConfig
	if active, err := l.NetworkIsActive(net); err == nil && active == 1 {
		flags |= libvirt.NetworkUpdateAffectLive
	}
	if err := p.mutate(func() error {
		return l.NetworkUpdateCompat(net, libvirt.NetworkUpdateCommandDelete, libvirt.NetworkSectionIPDhcpHost, -1, hx, flags)
	}); err != nil {
		return wrap("remove DHCP host "+h.host.Name+" from network "+p.name(), err)
	}
	p.logf("%s: removed (domain, disk, seed and DHCP host %s)", lv.Node, h.host.IP)
	return nil
}
