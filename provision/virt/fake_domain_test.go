package virt

import (
	"strings"
	"time"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// The fake's networks and domains. A domain starts only when its disks'
// files are volumes and its networks are active, as QEMU needs.

func (f *fake) net(method string, net libvirt.Network, fn func(*fakeNet) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(method, net.Name, changing[method]); err != nil {
		return err
	}
	n, ok := f.nets[net.Name]
	if !ok {
		return lverr(libvirt.ErrNoNetwork, "Network not found: no network with matching name '%s'", net.Name)
	}
	return fn(n)
}

func (f *fake) NetworkLookupByName(name string) (libvirt.Network, error) {
	err := f.net("NetworkLookupByName", libvirt.Network{Name: name}, func(*fakeNet) error { return nil })
	return libvirt.Network{Name: name}, err
}

func (f *fake) NetworkDefineXML(x string) (libvirt.Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var d libvirtxml.Network
	if err := d.Unmarshal(x); err != nil || d.Name == "" {
		return libvirt.Network{}, lverr(libvirt.ErrXMLError, "invalid network XML: %v", err)
	}
	if err := f.call("NetworkDefineXML", d.Name, true); err != nil {
		return libvirt.Network{}, err
	}
	if n, ok := f.nets[d.Name]; ok {
		n.xml = x
	} else {
		f.nets[d.Name] = &fakeNet{xml: x}
	}
	return libvirt.Network{Name: d.Name}, nil
}

func (f *fake) NetworkGetXMLDesc(net libvirt.Network, _ uint32) (string, error) {
	var x string
	err := f.net("NetworkGetXMLDesc", net, func(n *fakeNet) error { x = n.xml; return nil })
	return x, err
}

// NetworkUpdateCompat adds a DHCP host to the network's first <ip> with
// DHCP, or deletes one: the updates kprov makes.
func (f *fake) NetworkUpdateCompat(net libvirt.Network, cmd libvirt.NetworkUpdateCommand, section libvirt.NetworkUpdateSection, _ int32, x string, _ libvirt.NetworkUpdateFlags) error {
	return f.net("NetworkUpdateCompat", net, func(n *fakeNet) error {
		del := cmd == libvirt.NetworkUpdateCommandDelete
		if cmd != libvirt.NetworkUpdateCommandAddLast && !del || section != libvirt.NetworkSectionIPDhcpHost {
			return lverr(libvirt.ErrOperationUnsupported, "fake libvirt: update %d of section %d", cmd, section)
		}
		var h libvirtxml.NetworkDHCPHost
		if err := h.Unmarshal(x); err != nil {
			return lverr(libvirt.ErrXMLError, "invalid DHCP host XML: %v", err)
		}
		var d libvirtxml.Network
		if err := d.Unmarshal(n.xml); err != nil {
			return err
		}
		if del {
			for i := range d.IPs {
				dhcp := d.IPs[i].DHCP
				for j := 0; dhcp != nil && j < len(dhcp.Hosts); j++ {
					if strings.EqualFold(dhcp.Hosts[j].MAC, h.MAC) && dhcp.Hosts[j].IP == h.IP {
						dhcp.Hosts = append(dhcp.Hosts[:j], dhcp.Hosts[j+1:]...)
						out, err := d.Marshal()
						n.xml = out
						return err
					}
				}
			}
			return lverr(libvirt.ErrOperationInvalid, "couldn't locate a matching dhcp host entry in network '%s'", net.Name)
		}
		for i := range d.IPs {
			dhcp := d.IPs[i].DHCP
			if dhcp == nil {
				continue
			}
			for _, have := range dhcp.Hosts {
				if strings.EqualFold(have.MAC, h.MAC) {
					return lverr(libvirt.ErrOperationInvalid, "there is an existing dhcp host entry in network '%s' that matches \"%s\"", net.Name, x)
				}
			}
			dhcp.Hosts = append(dhcp.Hosts, h)
			out, err := d.Marshal()
			n.xml = out
			return err
		}
		return lverr(libvirt.ErrOperationInvalid, "network '%s' has no DHCP range", net.Name)
	})
}

func (f *fake) NetworkIsActive(net libvirt.Network) (int32, error) {
	var a int32
	err := f.net("NetworkIsActive", net, func(n *fakeNet) error { a = flag(n.active); return nil })
	return a, err
}

func (f *fake) NetworkCreate(net libvirt.Network) error {
	return f.net("NetworkCreate", net, func(n *fakeNet) error {
		if n.active {
			return lverr(libvirt.ErrOperationInvalid, "network is already active")
		}
		n.active = true
		return nil
	})
}

func (f *fake) NetworkGetAutostart(net libvirt.Network) (int32, error) {
	var a int32
	err := f.net("NetworkGetAutostart", net, func(n *fakeNet) error { a = flag(n.autorun); return nil })
	return a, err
}

func (f *fake) NetworkSetAutostart(net libvirt.Network, a int32) error {
	return f.net("NetworkSetAutostart", net, func(n *fakeNet) error { n.autorun = a != 0; return nil })
}

func (f *fake) NetworkDestroy(net libvirt.Network) error {
	return f.net("NetworkDestroy", net, func(n *fakeNet) error {
		if !n.active {
			return lverr(libvirt.ErrOperationInvalid, "network '%s' is not active", net.Name)
		}
		n.active = false
		return nil
	})
}

func (f *fake) NetworkUndefine(net libvirt.Network) error {
	return f.net("NetworkUndefine", net, func(*fakeNet) error { delete(f.nets, net.Name); return nil })
}

func (f *fake) dom(method string, dom libvirt.Domain, fn func(*fakeDom) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(method, dom.Name, changing[method]); err != nil {
		return err
	}
	d, ok := f.doms[dom.Name]
	if !ok {
		return lverr(libvirt.ErrNoDomain, "Domain not found: no domain with matching name '%s'", dom.Name)
	}
	return fn(d)
}

func (f *fake) DomainLookupByName(name string) (libvirt.Domain, error) {
	err := f.dom("DomainLookupByName", libvirt.Domain{Name: name}, func(*fakeDom) error { return nil })
	return libvirt.Domain{Name: name}, err
}

func (f *fake) DomainDefineXMLFlags(x string, flags libvirt.DomainDefineFlags) (libvirt.Domain, error) {
	// A real libvirtd may fail two validated defines at once (libxml2's
	// schema types are set up unsafely: "Unable to parse RNG"); count them.
	if flags&libvirt.DomainDefineValidate != 0 {
		if f.validating.Add(1) > 1 {
			f.overlaps.Add(1)
		}
		time.Sleep(2 * time.Millisecond)
		defer f.validating.Add(-1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var d libvirtxml.Domain
	if err := d.Unmarshal(x); err != nil || d.Name == "" {
		return libvirt.Domain{}, lverr(libvirt.ErrXMLError, "invalid domain XML: %v", err)
	}
	if err := f.call("DomainDefineXMLFlags", d.Name, true); err != nil {
		return libvirt.Domain{}, err
	}
	if have, ok := f.doms[d.Name]; ok {
		have.xml = x
	} else {
		f.doms[d.Name] = &fakeDom{xml: x, state: libvirt.DomainShutoff}
	}
	return libvirt.Domain{Name: d.Name}, nil
}

func (f *fake) DomainGetXMLDesc(dom libvirt.Domain, _ libvirt.DomainXMLFlags) (string, error) {
	var x string
	err := f.dom("DomainGetXMLDesc", dom, func(d *fakeDom) error { x = d.xml; return nil })
	return x, err
}

func (f *fake) DomainGetState(dom libvirt.Domain, _ uint32) (int32, int32, error) {
	var s int32
	err := f.dom("DomainGetState", dom, func(d *fakeDom) error { s = int32(d.state); return nil })
	return s, 0, err
}

func (f *fake) DomainCreate(dom libvirt.Domain) error {
	return f.dom("DomainCreate", dom, func(d *fakeDom) error {
		if d.state == libvirt.DomainRunning {
			return lverr(libvirt.ErrOperationInvalid, "domain is already running")
		}
		var x libvirtxml.Domain
		if err := x.Unmarshal(d.xml); err != nil {
			return err
		}
		if x.Devices != nil {
			for _, disk := range x.Devices.Disks {
				if s := disk.Source; s != nil && s.File != nil && !f.fileExists(s.File.File) {
					return lverr(libvirt.ErrInternalError, "Cannot access storage file '%s': No such file or directory", s.File.File)
				}
			}
			for _, i := range x.Devices.Interfaces {
				if s := i.Source; s != nil && s.Network != nil {
					if n, ok := f.nets[s.Network.Network]; !ok || !n.active {
						return lverr(libvirt.ErrOperationInvalid, "network '%s' is not active", s.Network.Network)
					}
				}
			}
		}
		d.state = libvirt.DomainRunning
		return nil
	})
}

func (f *fake) DomainDestroy(dom libvirt.Domain) error {
	return f.dom("DomainDestroy", dom, func(d *fakeDom) error {
		if d.state != libvirt.DomainRunning {
			return lverr(libvirt.ErrOperationInvalid, "domain is not running")
		}
		d.state = libvirt.DomainShutoff
		return nil
	})
}

func (f *fake) DomainUndefineFlags(dom libvirt.Domain, _ libvirt.DomainUndefineFlagsValues) error {
	return f.dom("DomainUndefineFlags", dom, func(*fakeDom) error { delete(f.doms, dom.Name); return nil })
}
