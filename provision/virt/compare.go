package virt

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

// Actions of a Change, as plan shows them.
const (
	Add       = "add"
	Modify    = "change"
	Unchanged = "unchanged"
	Remove    = "remove"
	// Upgrade is a node kprov upgrades in place to the spec's Kubernetes
	// version (Kind "node"): not a libvirt change, shown with them.
	Upgrade = "upgrade"
)

// Change is one planned (or leftover) libvirt object compared with what
// the host holds.
type Change struct {
	Action string `json:"action"`
	Kind   string `json:"kind"` // network, pool, volume, domain
	Name   string `json:"name"`
	Node   string `json:"node,omitempty"`
	// Details say what differs, for a change, or why, for a removal.
	Details []string `json:"details,omitempty"`
}

// Compare reads the host and tells, object by object, what up would do:
// add what is missing, change what differs, and which domains tagged for
// the cluster the spec no longer plans. It changes nothing.
func (p *Provisioner) Compare(ctx context.Context) ([]Change, error) {
	var out []Change
	net, err := p.compareNetwork()
	if err != nil {
		return nil, err
	}
	out = append(out, net)
	l := p.Conn.l
	pool, err := l.StoragePoolLookupByName(p.name())
	havePool := err == nil
	switch {
	case notFound(err):
		out = append(out, Change{Action: Add, Kind: "pool", Name: p.name()})
	case err != nil:
		return nil, wrap("look up pool "+p.name(), err)
	default:
		ch := p.activeChange("pool", p.name(), func() (int32, error) { return l.StoragePoolIsActive(pool) })
		out = append(out, ch)
		havePool = ch.Action == Unchanged
	}
	// vol is a volume of the pool: add when it or the pool is missing.
	// An inactive pool cannot be read: its volumes are shown as to add,
	// and up, which starts the pool first, keeps those it finds.
	vol := func(name, node string) (libvirt.StorageVol, Change, error) {
		c := Change{Action: Add, Kind: "volume", Name: name, Node: node}
		if !havePool {
			return libvirt.StorageVol{}, c, nil
		}
		v, err := l.StorageVolLookupByName(pool, name)
		if notFound(err) {
			return v, c, nil
		}
		if err != nil {
			return v, c, wrap("look up volume "+name, err)
		}
		c.Action = Unchanged
		return v, c, nil
	}
	_, base, err := vol(plan.BaseVolumeName(p.Cluster), "")
	if err != nil {
		return nil, err
	}
	out = append(out, base)
	planned := map[string]bool{}
	for _, n := range p.Nodes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		planned[n.Domain] = true
		_, disk, err := vol(plan.OverlayVolumeName(n), n.Name)
		if err != nil {
			return nil, err
		}
		sv, seed, err := vol(plan.SeedVolumeName(n), n.Name)
		if err != nil {
			return nil, err
		}
		if seed.Action == Unchanged {
			var have bytes.Buffer
			if err := p.Conn.ReadVolume(sv, &have); err != nil {
				return nil, wrap("read seed "+seed.Name, err)
			}
			if !bytes.Equal(bytes.TrimRight(have.Bytes(), "\x00"), bytes.TrimRight(p.Seeds[n.Name], "\x00")) {
				seed.Action = Modify
				seed.Details = []string{"its files differ from the spec's (cloud-init reads them only on first boot): up reports it, `up --replace` recreates the node"}
			}
		}
		dom, err := p.compareDomain(n)
		if err != nil {
			return nil, err
		}
		out = append(out, disk, seed, dom)
	}
	extra, err := p.leftovers(planned)
	if err != nil {
		return nil, err
	}
	return append(out, extra...), nil
}

// activeChange is an object that exists: unchanged when active, else a
// change that starts it.
func (p *Provisioner) activeChange(kind, name string, active func() (int32, error)) Change {
	c := Change{Action: Unchanged, Kind: kind, Name: name}
	if a, err := active(); err == nil && a == 0 {
		c.Action, c.Details = Modify, []string{"start it (defined but not active)"}
	}
	return c
}

func (p *Provisioner) compareNetwork() (Change, error) {
	c := Change{Action: Add, Kind: "network", Name: p.name()}
	defs, err := p.defs()
	if err != nil {
		return c, err
	}
	want := defs.Network
	l := p.Conn.l
	net, err := l.NetworkLookupByName(p.name())
	if notFound(err) {
		return c, nil
	}
	if err != nil {
		return c, wrap("look up network "+p.name(), err)
	}
	have, err := p.liveNetwork(net)
	if err != nil {
		return c, err
	}
	c = p.activeChange("network", p.name(), func() (int32, error) { return l.NetworkIsActive(net) })
	if err := sameNetwork(have, want); err != nil {
		c.Action = Modify
		c.Details = append(c.Details, err.Error()+": up refuses it; `kprov down` and `kprov up` rebuild the network")
	}
	for _, h := range missingDHCPHosts(have, want) {
		c.Action = Modify
		c.Details = append(c.Details, fmt.Sprintf("add DHCP host %s %s -> %s", h.Name, h.MAC, h.IP))
	}
	return c, nil
}

// compareDomain tells whether n's domain is missing, current, stopped, or
// defined from another spec, and then what differs.
func (p *Provisioner) compareDomain(n plan.Node) (Change, error) {
	c := Change{Action: Add, Kind: "domain", Name: n.Domain, Node: n.Name}
	l := p.Conn.l
	dom, err := l.DomainLookupByName(n.Domain)
	if notFound(err) {
		return c, nil
	}
	if err != nil {
		return c, wrap("look up domain "+n.Domain, err)
	}
	have, err := definition(l, dom)
	if err != nil {
		return c, err
	}
	m, ok, err := plan.ParseNodeMeta(have)
	if err != nil || !ok || m.Cluster != p.Cluster.Name {
		return c, fmt.Errorf("domain %s exists but kprov did not create it for cluster %q; rename or remove it", n.Domain, p.Cluster.Name)
	}
	c.Action = Unchanged
	hash, err := p.wantHash(n.Name)
	if err != nil {
		return c, err
	}
	if !p.current(n.Name, m.SpecHash, hash) {
		want := p.Defs.Domains[n.Name]
		c.Action = Modify
		c.Details = domainDiff(have, want)
		if len(c.Details) == 0 {
			c.Details = []string{"defined from another spec (its image or seed)"}
		}
		c.Details = append(c.Details, "up reports it as drifted; `up --replace` recreates the node")
	}
	st, _, err := l.DomainGetState(dom, 0)
	if err == nil && libvirt.DomainState(st) != libvirt.DomainRunning {
		c.Action = Modify
		c.Details = append(c.Details, "start it (now "+stateName(libvirt.DomainState(st))+")")
	}
	return c, nil
}

// domainDiff names the settings a user edits in the spec that differ.
func domainDiff(have, want *libvirtxml.Domain) []string {
	var d []string
	mib := func(x *libvirtxml.Domain) string {
		if x.Memory == nil {
			return "?"
		}
		v := x.Memory.Value
		switch x.Memory.Unit {
		case "", "KiB", "k":
			v >>= 10
		case "GiB", "G":
			v <<= 10
		}
		return fmt.Sprintf("%d MiB", v)
	}
	if a, b := mib(have), mib(want); a != b {
		d = append(d, "memory "+a+" -> "+b)
	}
	vcpu := func(x *libvirtxml.Domain) uint {
		if x.VCPU == nil {
			return 0
		}
		return x.VCPU.Value
	}
	if a, b := vcpu(have), vcpu(want); a != b {
		d = append(d, fmt.Sprintf("vcpu %d -> %d", a, b))
	}
	macs := func(x *libvirtxml.Domain) string {
		var s []string
		if x.Devices != nil {
			for _, i := range x.Devices.Interfaces {
				if i.MAC != nil {
					s = append(s, strings.ToLower(i.MAC.Address))
				}
			}
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	if a, b := macs(have), macs(want); a != b {
		d = append(d, "MAC "+a+" -> "+b)
	}
	return d
}

// leftovers are the domains tagged for the cluster that the spec no
// longer plans.
func (p *Provisioner) leftovers(planned map[string]bool) ([]Change, error) {
	l := p.Conn.l
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		return nil, wrap("list domains", err)
	}
	var out []Change
	for _, d := range doms {
		if planned[d.Name] || !strings.HasPrefix(d.Name, plan.Prefix(p.Cluster.Name)) {
			continue
		}
		m, ok, err := domainMeta(l, d)
		if err != nil || !ok || m.Cluster != p.Cluster.Name {
			continue
		}
		why := "not in the spec any more: up drains it, deletes it from the cluster, then removes its VM, disk, seed and DHCP host (`up --keep-nodes` keeps it)"
		if m.Role == spec.RoleControlPlane {
			why = "not in the spec any more: a control plane: up drains it, deletes it from the cluster, removes its etcd member (refused when etcd would lose its healthy majority), then removes its VM, disk, seed and DHCP host (`up --keep-nodes` keeps it)"
		}
		out = append(out, Change{Action: Remove, Kind: "domain", Name: d.Name, Node: m.Node, Details: []string{why}})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Summary counts changes by action (Upgrade only when there are some).
func Summary(cs []Change) map[string]int {
	m := map[string]int{Add: 0, Modify: 0, Remove: 0, Unchanged: 0}
	for _, c := range cs {
		m[c.Action]++
	}
	return m
}
