package virt

import (
	"context"
	"fmt"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/kprov/kprov/provision/plan"
)

// meta reads kprov's metadata from a defined domain.
func (p *Provisioner) meta(dom libvirt.Domain) (plan.NodeMeta, bool, error) {
	return domainMeta(p.Conn.l, dom)
}

func domainMeta(l client, dom libvirt.Domain) (plan.NodeMeta, bool, error) {
	d, err := definition(l, dom)
	if err != nil {
		return plan.NodeMeta{}, false, err
	}
	return plan.ParseNodeMeta(d)
}

// definition reads and parses a domain's persistent definition.
func definition(l client, dom libvirt.Domain) (*libvirtxml.Domain, error) {
	x, err := l.DomainGetXMLDesc(dom, libvirt.DomainXMLInactive)
	if err != nil {
		return nil, wrap("read domain "+dom.Name, err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil {
		return nil, wrap("parse domain "+dom.Name, err)
	}
	return &d, nil
}

// liveNetwork reads and parses the cluster's network as libvirt runs it.
func (p *Provisioner) liveNetwork(net libvirt.Network) (*libvirtxml.Network, error) {
	x, err := p.Conn.l.NetworkGetXMLDesc(net, 0)
	if err != nil {
		return nil, wrap("read network "+p.name(), err)
	}
	var n libvirtxml.Network
	if err := n.Unmarshal(x); err != nil {
		return nil, wrap("parse network "+p.name(), err)
	}
	return &n, nil
}

// Drift is a node whose domain was defined from another spec.
type Drift struct {
	Node, Have, Want string
}

// CheckDrift finds the nodes whose domains were defined from a different
// definition. With Replace it removes them (domain, disk, seed) so the
// following steps recreate them; without, it only reports them.
func (p *Provisioner) CheckDrift(ctx context.Context) ([]Drift, error) {
	l := p.Conn.l
	var drifts []Drift
	for _, n := range p.Nodes {
		dom, err := l.DomainLookupByName(n.Domain)
		if notFound(err) {
			continue
		}
		if err != nil {
			return nil, wrap("look up domain "+n.Domain, err)
		}
		m, ok, err := p.meta(dom)
		if err != nil {
			return nil, err
		}
		if !ok || m.Cluster != p.Cluster.Name {
			return nil, fmt.Errorf("domain %s exists but kprov did not create it for cluster %q; rename or remove it", n.Domain, p.Cluster.Name)
		}
		want, err := p.wantHash(n.Name)
		if err != nil {
			return nil, err
		}
		if p.current(n.Name, m.SpecHash, want) {
			continue
		}
		drifts = append(drifts, Drift{Node: n.Name, Have: m.SpecHash, Want: want})
		if !p.Replace {
			p.logf("%s: drifted from the spec (defined from %.12s, spec gives %.12s); `kprov up --replace` recreates it", n.Name, m.SpecHash, want)
			continue
		}
		if err := p.removeNode(dom, n); err != nil {
			return nil, err
		}
		p.logf("%s: drifted from the spec; removed to be recreated", n.Name)
	}
	return drifts, nil
}

// removeNode destroys and undefines a node's domain and deletes its disk
// and seed.
func (p *Provisioner) removeNode(dom libvirt.Domain, n plan.Node) error {
	if err := removeDomain(p.Conn.l, &p.counter, dom); err != nil {
		return wrap("remove domain "+n.Domain, err)
	}
	pool, err := p.pool()
	if err != nil {
		return err
	}
	for _, name := range []string{plan.OverlayVolumeName(n), plan.SeedVolumeName(n)} {
		if err := deleteVolume(p.Conn.l, &p.counter, pool, name); err != nil {
			return err
		}
	}
	return nil
}

// EnsureDomains defines the domains that do not exist yet.
func (p *Provisioner) EnsureDomains(ctx context.Context) error {
	defs, err := p.defs() // before the nodes' goroutines
	if err != nil {
		return err
	}
	l := p.Conn.l
	return eachNode(ctx, p.Nodes, p.Parallel, func(ctx context.Context, n plan.Node) error {
		if _, err := l.DomainLookupByName(n.Domain); err == nil {
			return nil
		} else if !notFound(err) {
			return wrap("look up domain "+n.Domain, err)
		}
		x, err := defs.Domains[n.Name].Marshal()
		if err != nil {
			return err
		}
		// One validated define at a time: libvirtd 9.0 fails two at once
		// now and then ("Unable to parse RNG ... domain.rng").
		p.defining.Lock()
		err = p.mutate(func() error { _, err := l.DomainDefineXMLFlags(x, libvirt.DomainDefineValidate); return err })
		p.defining.Unlock()
		if err != nil {
			return wrap("define domain "+n.Domain, err)
		}
		p.logf("%s: domain %s defined", n.Name, n.Domain)
		return nil
	})
}

// Start starts every domain that is not running.
func (p *Provisioner) Start(ctx context.Context) error {
	l := p.Conn.l
	return eachNode(ctx, p.Nodes, p.Parallel, func(ctx context.Context, n plan.Node) error {
		dom, err := l.DomainLookupByName(n.Domain)
		if err != nil {
			return wrap("look up domain "+n.Domain, err)
		}
		state, _, err := l.DomainGetState(dom, 0)
		if err != nil {
			return wrap("domain "+n.Domain, err)
		}
		if libvirt.DomainState(state) == libvirt.DomainRunning {
			return nil
		}
		if err := p.mutate(func() error { return l.DomainCreate(dom) }); err != nil {
			return wrap("start domain "+n.Domain, err)
		}
		p.logf("%s: started", n.Name)
		return nil
	})
}

// removeDomain stops (if running) and undefines dom.
func removeDomain(l client, c *counter, dom libvirt.Domain) error {
	state, _, err := l.DomainGetState(dom, 0)
	if err != nil {
		return err
	}
	if libvirt.DomainState(state) != libvirt.DomainShutoff {
		if err := c.mutate(func() error { return l.DomainDestroy(dom) }); err != nil && !notFound(err) {
			return err
		}
	}
	err = c.mutate(func() error {
		return l.DomainUndefineFlags(dom, libvirt.DomainUndefineNvram|libvirt.DomainUndefineManagedSave)
	})
	if notFound(err) {
		return nil
	}
	return err
}

// deleteVolume deletes a volume of pool if it exists.
func deleteVolume(l client, c *counter, pool libvirt.StoragePool, name string) error {
	vol, err := l.StorageVolLookupByName(pool, name)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return wrap("look up volume "+name, err)
	}
	err = c.mutate(func() error { return l.StorageVolDelete(vol, 0) })
	if notFound(err) {
		return nil
	}
	return wrap("delete volume "+name, err)
}
