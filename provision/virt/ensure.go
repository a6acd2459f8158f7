package virt

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

// Provisioner makes the planned nodes of one cluster exist on one host.
type Provisioner struct {
	Conn    *Conn
	Cluster *spec.Cluster
	Nodes   []plan.Node
	Host    plan.Host
	// Hashes is each node's definition hash (artifacts.NodeHash), for
	// planning Defs when none are given. Drift is judged against the hash
	// in the planned domain's metadata, so Defs and a drift check agree.
	Hashes map[string]string
	// Legacy is each node's hash as an older kprov recorded it
	// (artifacts.LegacyNodeHash): a domain holding it is current too.
	Legacy map[string]string
	// Seeds is each node's NoCloud seed ISO.
	Seeds map[string][]byte
	// Image opens the base image and tells its size and sha256.
	Image ImageSource
	// ImageSHA256 is the base image's sha256, once EnsureImage hashed it.
	ImageSHA256 string
	// Defs are the network, pool and domains to define (render's); nil
	// plans them from Cluster, Nodes, Host and Hashes on first use.
	Defs *plan.Definitions
	// Replace recreates nodes whose definition drifted from the spec.
	Replace bool
	// Parallel bounds how many nodes are worked on at once.
	Parallel int
	// Log receives one line per change made or drift found.
	Log func(format string, args ...any)
	// Progress, when set, shows the base image's upload (a bar when
	// Terminal): set it for remote hypervisors.
	Progress io.Writer
	Terminal bool
	counter
	// defining holds validated domain defines to one at a time.
	defining sync.Mutex
}

func (p *Provisioner) logf(format string, args ...any) {
	if p.Log != nil {
		p.Log(format, args...)
	}
}

func (p *Provisioner) name() string { return plan.ResourceName(p.Cluster.Name) }

// defs are the objects to define: Defs, or planned once when not given.
func (p *Provisioner) defs() (*plan.Definitions, error) {
	if p.Defs == nil {
		d, err := plan.Define(p.Cluster, p.Nodes, p.Host, p.Hashes)
		if err != nil {
			return nil, err
		}
		p.Defs = d
	}
	return p.Defs, nil
}

// wantHash is the spec hash node's planned domain records.
func (p *Provisioner) wantHash(node string) (string, error) {
	defs, err := p.defs()
	if err != nil {
		return "", err
	}
	d, ok := defs.Domains[node]
	if !ok {
		return "", fmt.Errorf("node %s has no planned domain", node)
	}
	m, ok, err := plan.ParseNodeMeta(d)
	if err != nil || !ok {
		return "", fmt.Errorf("node %s: the planned domain has no kprov metadata (%v)", node, err)
	}
	return m.SpecHash, nil
}

// current says whether a domain recording hash have is defined from the
// spec's node: the planned hash, or the legacy one.
func (p *Provisioner) current(node, have, want string) bool {
	return have == want || (p.Legacy != nil && p.Legacy[node] != "" && have == p.Legacy[node])
}

// EnsureNetwork defines and starts the cluster's network; on an existing
// one it adds DHCP host entries for new nodes and reports other drift.
func (p *Provisioner) EnsureNetwork(ctx context.Context) error {
	defs, err := p.defs()
	if err != nil {
		return err
	}
	want := defs.Network
	l := p.Conn.l
	net, err := l.NetworkLookupByName(p.name())
	if notFound(err) {
		x, err := want.Marshal()
		if err != nil {
			return err
		}
		if err := p.mutate(func() error { net, err = l.NetworkDefineXML(x); return err }); err != nil {
			return wrap("define network "+p.name(), err)
		}
		p.logf("network %s defined", p.name())
	} else if err != nil {
		return wrap("look up network "+p.name(), err)
	} else if err := p.updateDHCP(net, want); err != nil {
		return err
	}
	active, err := l.NetworkIsActive(net)
	if err != nil {
		return wrap("network "+p.name(), err)
	}
	if active == 0 {
		if err := p.mutate(func() error { return l.NetworkCreate(net) }); err != nil {
			return wrap("start network "+p.name(), err)
		}
		p.logf("network %s started", p.name())
	}
	auto, err := l.NetworkGetAutostart(net)
	if err == nil && auto == 0 {
		err = p.mutate(func() error { return l.NetworkSetAutostart(net, 1) })
	}
	return wrap("autostart network "+p.name(), err)
}

// updateDHCP adds the planned DHCP host entries the live network lacks.
func (p *Provisioner) updateDHCP(net libvirt.Network, want *libvirtxml.Network) error {
	l := p.Conn.l
	have, err := p.liveNetwork(net)
	if err != nil {
		return err
	}
	if err := sameNetwork(have, want); err != nil {
		return fmt.Errorf("network %s differs from the spec: %v; run `kprov down` and `kprov up` to rebuild it", p.name(), err)
	}
	for _, h := range missingDHCPHosts(have, want) {
		hx, err := (&h).Marshal()
		if err != nil {
			return err
		}
		flags := libvirt.NetworkUpdateAffectLive | libvirt.NetworkUpdateAffectConfig
		if err := p.mutate(func() error {
			return l.NetworkUpdateCompat(net, libvirt.NetworkUpdateCommandAddLast, libvirt.NetworkSectionIPDhcpHost, -1, hx, flags)
		}); err != nil {
			return wrap("add DHCP host "+h.Name+" to network "+p.name(), err)
		}
		p.logf("network %s: DHCP host %s %s -> %s added", p.name(), h.Name, h.MAC, h.IP)
	}
	return nil
}

// missingDHCPHosts are want's DHCP host entries that have lacks, by MAC.
func missingDHCPHosts(have, want *libvirtxml.Network) []libvirtxml.NetworkDHCPHost {
	known := map[string]bool{}
	for _, ip := range have.IPs {
		if ip.DHCP != nil {
			for _, h := range ip.DHCP.Hosts {
				known[strings.ToLower(h.MAC)] = true
			}
		}
	}
	var out []libvirtxml.NetworkDHCPHost
	for _, ip := range want.IPs {
		if ip.DHCP != nil {
			for _, h := range ip.DHCP.Hosts {
				if !known[strings.ToLower(h.MAC)] {
					out = append(out, h)
				}
			}
		}
	}
	return out
}

// sameNetwork compares what a running network cannot change.
func sameNetwork(have, want *libvirtxml.Network) error {
	mode := func(n *libvirtxml.Network) string {
		if n.Forward == nil {
			return "isolated"
		}
		return n.Forward.Mode
	}
	if mode(have) != mode(want) {
		return fmt.Errorf("forward mode %s, spec %s", mode(have), mode(want))
	}
	addr := func(n *libvirtxml.Network) string {
		var s []string
		for _, ip := range n.IPs {
			s = append(s, fmt.Sprintf("%s/%d%s", ip.Address, ip.Prefix, ip.Netmask))
		}
		sort.Strings(s)
		return strings.Join(s, ",")
	}
	if addr(have) != addr(want) {
		return fmt.Errorf("addresses %s, spec %s", addr(have), addr(want))
	}
	mtu := func(n *libvirtxml.Network) uint {
		if n.MTU == nil {
			return 0
		}
		return n.MTU.Size
	}
	if mtu(have) != mtu(want) {
		return fmt.Errorf("MTU %d, spec %d", mtu(have), mtu(want))
	}
	return nil
}

// EnsurePool defines, builds and starts the cluster's storage pool.
func (p *Provisioner) EnsurePool(ctx context.Context) error {
	l := p.Conn.l
	pool, err := l.StoragePoolLookupByName(p.name())
	if notFound(err) {
		defs, err := p.defs()
		if err != nil {
			return err
		}
		x, err := defs.Pool.Marshal()
		if err != nil {
			return err
		}
		if err := p.mutate(func() error { pool, err = l.StoragePoolDefineXML(x, 0); return err }); err != nil {
			return wrap("define pool "+p.name(), err)
		}
		if err := p.mutate(func() error { return l.StoragePoolBuild(pool, libvirt.StoragePoolBuildNew) }); err != nil {
			// Leave nothing half-made: a pool that cannot be built is undefined.
			_ = p.mutate(func() error { return l.StoragePoolUndefine(pool) })
			return fmt.Errorf("build pool %s at %s: %w; check the folder is writable on the hypervisor host", p.name(), p.Cluster.Hypervisor.StoragePool, err)
		}
		p.logf("pool %s defined at %s", p.name(), p.Cluster.Hypervisor.StoragePool)
	} else if err != nil {
		return wrap("look up pool "+p.name(), err)
	}
	active, err := l.StoragePoolIsActive(pool)
	if err != nil {
		return wrap("pool "+p.name(), err)
	}
	if active == 0 {
		if err := p.mutate(func() error { return l.StoragePoolCreate(pool, 0) }); err != nil {
			return fmt.Errorf("start pool %s at %s: %w; check the folder exists and is writable", p.name(), p.Cluster.Hypervisor.StoragePool, err)
		}
		p.logf("pool %s started", p.name())
	}
	auto, err := l.StoragePoolGetAutostart(pool)
	if err == nil && auto == 0 {
		err = p.mutate(func() error { return l.StoragePoolSetAutostart(pool, 1) })
	}
	return wrap("autostart pool "+p.name(), err)
}

func (p *Provisioner) pool() (libvirt.StoragePool, error) {
	pool, err := p.Conn.l.StoragePoolLookupByName(p.name())
	return pool, wrap("look up pool "+p.name(), err)
}

// upload creates a volume from x and streams size bytes of r into it.
func (p *Provisioner) upload(pool libvirt.StoragePool, x string, r io.Reader, size uint64) (libvirt.StorageVol, error) {
	l := p.Conn.l
	var vol libvirt.StorageVol
	err := p.mutate(func() (err error) { vol, err = l.StorageVolCreateXML(pool, x, 0); return err })
	if err != nil {
		return vol, err
	}
	if err := p.mutate(func() error { return p.Conn.Upload(vol, r, size) }); err != nil {
		_ = l.StorageVolDelete(vol, 0)
		return vol, err
	}
	return vol, nil
}

// since is a short duration for log lines.
func since(t time.Time) string { return time.Since(t).Round(time.Millisecond).String() }
