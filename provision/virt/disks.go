package virt

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/kprov/kprov/provision/plan"
)

// qemuOwner is the uid and gid QEMU runs as, from the host capabilities'
// DAC label (+64055:+994 on Debian).
func (p *Provisioner) qemuOwner() (uid, gid string, err error) {
	x, err := p.Conn.l.ConnectGetCapabilities()
	if err != nil {
		return "", "", wrap("host capabilities", err)
	}
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(x); err != nil {
		return "", "", wrap("host capabilities", err)
	}
	for _, m := range caps.Host.SecModel {
		if m.Name != "dac" {
			continue
		}
		for _, lb := range m.Labels {
			if lb.Type == p.Host.DomainType {
				u, g, ok := strings.Cut(lb.Value, ":")
				if ok {
					return strings.TrimPrefix(u, "+"), strings.TrimPrefix(g, "+"), nil
				}
			}
		}
	}
	return "", "", fmt.Errorf("host capabilities name no QEMU user (dac label for %s)", p.Host.DomainType)
}

// needsOwner reports whether any node's disk is handed to QEMU on its
// command line, which libvirt neither labels nor chowns.
func (p *Provisioner) needsOwner() bool {
	for _, n := range p.Nodes {
		if d, _ := plan.BootDiskOf(p.Host, n); d == plan.BootNVMeCommandline {
			return true
		}
	}
	return false
}

// EnsureDisks creates each node's overlay on the base image.
func (p *Provisioner) EnsureDisks(ctx context.Context) error {
	pool, err := p.pool()
	if err != nil {
		return err
	}
	var uid, gid string
	if p.needsOwner() {
		if uid, gid, err = p.qemuOwner(); err != nil {
			return err
		}
	}
	l := p.Conn.l
	return eachNode(ctx, p.Nodes, p.Parallel, func(ctx context.Context, n plan.Node) error {
		name := plan.OverlayVolumeName(n)
		if _, err := l.StorageVolLookupByName(pool, name); err == nil {
			return nil
		} else if !notFound(err) {
			return wrap("look up disk "+name, err)
		}
		v := plan.OverlayVolume(p.Cluster, n)
		if d, _ := plan.BootDiskOf(p.Host, n); d == plan.BootNVMeCommandline {
			v.Target.Permissions = &libvirtxml.StorageVolumeTargetPermissions{Owner: uid, Group: gid, Mode: "0600"}
		}
		x, err := v.Marshal()
		if err != nil {
			return err
		}
		if err := p.mutate(func() error { _, err := l.StorageVolCreateXML(pool, x, 0); return err }); err != nil {
			return fmt.Errorf("create disk %s: %w; check free space in %s", name, err, p.Cluster.Hypervisor.StoragePool)
		}
		p.logf("%s: disk %s created (%d GiB overlay)", n.Name, name, n.DiskGiB)
		return nil
	})
}

// EnsureSeeds uploads each node's seed ISO. An existing seed whose bytes
// differ is drift: cloud-init reads it only on first boot.
func (p *Provisioner) EnsureSeeds(ctx context.Context) error {
	pool, err := p.pool()
	if err != nil {
		return err
	}
	l := p.Conn.l
	return eachNode(ctx, p.Nodes, p.Parallel, func(ctx context.Context, n plan.Node) error {
		iso, ok := p.Seeds[n.Name]
		if !ok {
			return fmt.Errorf("no seed ISO planned")
		}
		name := plan.SeedVolumeName(n)
		vol, err := l.StorageVolLookupByName(pool, name)
		if err == nil {
			var have bytes.Buffer
			if err := p.Conn.ReadVolume(vol, &have); err != nil {
				return wrap("read seed "+name, err)
			}
			if !bytes.Equal(bytes.TrimRight(have.Bytes(), "\x00"), bytes.TrimRight(iso, "\x00")) {
				p.logf("%s: seed %s differs from the spec (cloud-init reads it only on first boot; `kprov up --replace` recreates the node)", n.Name, name)
			}
			return nil
		}
		if !notFound(err) {
			return wrap("look up seed "+name, err)
		}
		x, err := plan.SeedVolume(n, uint64(len(iso))).Marshal()
		if err != nil {
			return err
		}
		if _, err := p.upload(pool, x, bytes.NewReader(iso), uint64(len(iso))); err != nil {
			return wrap("upload seed "+name, err)
		}
		p.logf("%s: seed %s uploaded (%d KiB)", n.Name, name, len(iso)>>10)
		return nil
	})
}
