package virt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/digitalocean/go-libvirt"

	"github.com/kprov/kprov/provision/plan"
)

// Teardown removes what kprov created for a cluster, found from libvirt.
type Teardown struct {
	Conn    *Conn
	Cluster string
	// KeepImage keeps the pool and its base image volume for a faster
	// next `up`.
	KeepImage bool
	// LocalLogs says the hypervisor is this machine, so serial console
	// logs can be removed too.
	LocalLogs bool
	Log       func(format string, args ...any)
	counter
}

func (t *Teardown) logf(format string, args ...any) {
	if t.Log != nil {
		t.Log(format, args...)
	}
}

// Run removes every tagged domain, the cluster's volumes, pool and
// network. It is safe to run twice and after a partial `up`.
func (t *Teardown) Run(ctx context.Context) error {
	l := t.Conn.l
	name := plan.ResourceName(t.Cluster)
	prefix := plan.Prefix(t.Cluster)
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		return wrap("list domains", err)
	}
	var errs []error
	for _, dom := range doms {
		if !strings.HasPrefix(dom.Name, prefix) {
			continue
		}
		m, ok, err := domainMeta(l, dom)
		if notFound(err) {
			continue
		}
		if err != nil || !ok || m.Cluster != t.Cluster {
			continue // not ours: never touched
		}
		if err := removeDomain(l, &t.counter, dom); err != nil {
			errs = append(errs, wrap("remove domain "+dom.Name, err))
			continue
		}
		t.logf("domain %s removed", dom.Name)
		if t.LocalLogs {
			console := plan.ConsoleLog(plan.Host{}, plan.Node{Domain: dom.Name})
			_ = os.Remove(console)
			// libvirt's own log of the QEMU process sits beside it.
			_ = os.Remove(filepath.Join(filepath.Dir(console), dom.Name+".log"))
		}
	}
	if err := t.pool(name, prefix); err != nil {
		errs = append(errs, err)
	}
	if err := t.network(name); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (t *Teardown) pool(name, prefix string) error {
	l := t.Conn.l
	pool, err := l.StoragePoolLookupByName(name)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return wrap("look up pool "+name, err)
	}
	active, err := l.StoragePoolIsActive(pool)
	if err != nil {
		return wrap("pool "+name, err)
	}
	if active == 0 {
		if err := t.mutate(func() error { return l.StoragePoolCreate(pool, 0) }); err != nil {
			// Its folder is gone or unusable: nothing of ours can be in it.
			t.logf("pool %s cannot start (%v); undefining it", name, err)
			return wrap("undefine pool "+name, t.mutate(func() error { return l.StoragePoolUndefine(pool) }))
		}
	}
	if err := l.StoragePoolRefresh(pool, 0); err != nil {
		return wrap("refresh pool "+name, err)
	}
	vols, _, err := l.StoragePoolListAllVolumes(pool, 1, 0)
	if err != nil {
		return wrap("list volumes of pool "+name, err)
	}
	base := name + "-base"
	for _, v := range vols {
		if !strings.HasPrefix(v.Name, prefix) || (t.KeepImage && strings.HasPrefix(v.Name, base)) {
			continue
		}
		if err := deleteVolume(l, &t.counter, pool, v.Name); err != nil {
			return err
		}
		t.logf("volume %s deleted", v.Name)
	}
	if t.KeepImage {
		return nil
	}
	if err := t.mutate(func() error { return l.StoragePoolDestroy(pool) }); err != nil && !notFound(err) {
		return wrap("stop pool "+name, err)
	}
	// Delete removes the pool's folder, which fails if something not ours
	// is left in it: then the folder stays.
	if err := t.mutate(func() error { return l.StoragePoolDelete(pool, libvirt.StoragePoolDeleteNormal) }); err != nil {
		t.logf("pool %s: folder kept (%v)", name, err)
	}
	if err := t.mutate(func() error { return l.StoragePoolUndefine(pool) }); err != nil && !notFound(err) {
		return wrap("undefine pool "+name, err)
	}
	t.logf("pool %s removed", name)
	return nil
}

func (t *Teardown) network(name string) error {
	l := t.Conn.l
	net, err := l.NetworkLookupByName(name)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return wrap("look up network "+name, err)
	}
	if active, err := l.NetworkIsActive(net); err == nil && active == 1 {
		if err := t.mutate(func() error { return l.NetworkDestroy(net) }); err != nil && !notFound(err) {
			return wrap("stop network "+name, err)
		}
	}
	if err := t.mutate(func() error { return l.NetworkUndefine(net) }); err != nil && !notFound(err) {
		return wrap("undefine network "+name, err)
	}
	t.logf("network %s removed", name)
	return nil
}
