package virt

import (
	"bytes"
	"io"
	"path"

	"github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"
)

// The fake's dir pools: a pool must be built (its folder made) to start,
// and started to look up, list or create volumes; volumes keep their
// bytes while the pool is stopped, as files would.

func (f *fake) pool(name string) (*fakePool, error) {
	p, ok := f.pools[name]
	if !ok {
		return nil, lverr(libvirt.ErrNoStoragePool, "Storage pool not found: no storage pool with matching name '%s'", name)
	}
	return p, nil
}

func (f *fake) activePool(name string) (*fakePool, error) {
	p, err := f.pool(name)
	if err == nil && !p.active {
		err = lverr(libvirt.ErrOperationInvalid, "storage pool '%s' is not active", name)
	}
	return p, err
}

func (f *fake) StoragePoolLookupByName(name string) (libvirt.StoragePool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("StoragePoolLookupByName", name, false); err != nil {
		return libvirt.StoragePool{}, err
	}
	_, err := f.pool(name)
	return libvirt.StoragePool{Name: name}, err
}

func (f *fake) StoragePoolDefineXML(x string, _ uint32) (libvirt.StoragePool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var d libvirtxml.StoragePool
	if err := d.Unmarshal(x); err != nil || d.Name == "" || d.Target == nil {
		return libvirt.StoragePool{}, lverr(libvirt.ErrXMLError, "invalid pool XML: %v", err)
	}
	if err := f.call("StoragePoolDefineXML", d.Name, true); err != nil {
		return libvirt.StoragePool{}, err
	}
	if _, ok := f.pools[d.Name]; !ok {
		f.pools[d.Name] = &fakePool{path: d.Target.Path, vols: map[string][]byte{}}
	}
	return libvirt.StoragePool{Name: d.Name}, nil
}

func (f *fake) StoragePoolBuild(pool libvirt.StoragePool, _ libvirt.StoragePoolBuildFlags) error {
	return f.onPool("StoragePoolBuild", pool, func(p *fakePool) error { p.built = true; return nil })
}

func (f *fake) StoragePoolIsActive(pool libvirt.StoragePool) (int32, error) {
	var a int32
	err := f.onPool("StoragePoolIsActive", pool, func(p *fakePool) error { a = flag(p.active); return nil })
	return a, err
}

func (f *fake) StoragePoolCreate(pool libvirt.StoragePool, _ libvirt.StoragePoolCreateFlags) error {
	return f.onPool("StoragePoolCreate", pool, func(p *fakePool) error {
		switch {
		case p.active:
			return lverr(libvirt.ErrOperationInvalid, "storage pool '%s' is already active", pool.Name)
		case !p.built:
			return lverr(libvirt.ErrSystemError, "cannot open directory '%s': No such file or directory", p.path)
		}
		p.active = true
		return nil
	})
}

func (f *fake) StoragePoolGetAutostart(pool libvirt.StoragePool) (int32, error) {
	var a int32
	err := f.onPool("StoragePoolGetAutostart", pool, func(p *fakePool) error { a = flag(p.autorun); return nil })
	return a, err
}

func (f *fake) StoragePoolSetAutostart(pool libvirt.StoragePool, a int32) error {
	return f.onPool("StoragePoolSetAutostart", pool, func(p *fakePool) error { p.autorun = a != 0; return nil })
}

func (f *fake) StoragePoolRefresh(pool libvirt.StoragePool, _ uint32) error {
	return f.onPool("StoragePoolRefresh", pool, func(p *fakePool) error {
		_, err := f.activePool(pool.Name)
		return err
	})
}

func (f *fake) StoragePoolListAllVolumes(pool libvirt.StoragePool, _ int32, _ uint32) ([]libvirt.StorageVol, uint32, error) {
	var out []libvirt.StorageVol
	err := f.onPool("StoragePoolListAllVolumes", pool, func(p *fakePool) error {
		if _, err := f.activePool(pool.Name); err != nil {
			return err
		}
		for n := range p.vols {
			out = append(out, libvirt.StorageVol{Pool: pool.Name, Name: n, Key: path.Join(p.path, n)})
		}
		return nil
	})
	return out, uint32(len(out)), err
}

func (f *fake) StoragePoolDestroy(pool libvirt.StoragePool) error {
	return f.onPool("StoragePoolDestroy", pool, func(p *fakePool) error {
		if !p.active {
			return lverr(libvirt.ErrOperationInvalid, "storage pool '%s' is not active", pool.Name)
		}
		p.active = false
		return nil
	})
}

func (f *fake) StoragePoolDelete(pool libvirt.StoragePool, _ libvirt.StoragePoolDeleteFlags) error {
	return f.onPool("StoragePoolDelete", pool, func(p *fakePool) error {
		switch {
		case p.active:
			return lverr(libvirt.ErrOperationInvalid, "storage pool '%s' is still active", pool.Name)
		case len(p.vols) > 0:
			return lverr(libvirt.ErrSystemError, "failed to remove pool '%s': Directory not empty", p.path)
		}
		p.built = false
		return nil
	})
}

func (f *fake) StoragePoolUndefine(pool libvirt.StoragePool) error {
	return f.onPool("StoragePoolUndefine", pool, func(p *fakePool) error {
		if p.active {
			return lverr(libvirt.ErrOperationInvalid, "storage pool '%s' is still active", pool.Name)
		}
		delete(f.pools, pool.Name)
		return nil
	})
}

// onPool runs fn on pool under the lock, after the rules.
func (f *fake) onPool(method string, pool libvirt.StoragePool, fn func(*fakePool) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(method, pool.Name, changing[method]); err != nil {
		return err
	}
	p, err := f.pool(pool.Name)
	if err != nil {
		return err
	}
	return fn(p)
}

// changing are the methods that change the host, as kprov counts them.
var changing = map[string]bool{
	"StoragePoolBuild": true, "StoragePoolCreate": true, "StoragePoolSetAutostart": true, "StoragePoolRefresh": true,
	"StoragePoolDestroy": true, "StoragePoolDelete": true, "StoragePoolUndefine": true,
	"StorageVolUpload": true, "StorageVolDelete": true,
	"NetworkCreate": true, "NetworkSetAutostart": true, "NetworkUpdateCompat": true, "NetworkDestroy": true, "NetworkUndefine": true,
	"DomainCreate": true, "DomainDestroy": true, "DomainUndefineFlags": true,
}

func flag(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

func (f *fake) StorageVolLookupByName(pool libvirt.StoragePool, name string) (libvirt.StorageVol, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("StorageVolLookupByName", name, false); err != nil {
		return libvirt.StorageVol{}, err
	}
	p, err := f.activePool(pool.Name)
	if err != nil {
		return libvirt.StorageVol{}, err
	}
	if _, ok := p.vols[name]; !ok {
		return libvirt.StorageVol{}, lverr(libvirt.ErrNoStorageVol, "Storage volume not found: no storage vol with matching name '%s'", name)
	}
	return libvirt.StorageVol{Pool: pool.Name, Name: name, Key: path.Join(p.path, name)}, nil
}

func (f *fake) StorageVolCreateXML(pool libvirt.StoragePool, x string, _ libvirt.StorageVolCreateFlags) (libvirt.StorageVol, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var v libvirtxml.StorageVolume
	if err := v.Unmarshal(x); err != nil || v.Name == "" {
		return libvirt.StorageVol{}, lverr(libvirt.ErrXMLError, "invalid volume XML: %v", err)
	}
	if err := f.call("StorageVolCreateXML", v.Name, true); err != nil {
		return libvirt.StorageVol{}, err
	}
	p, err := f.activePool(pool.Name)
	if err != nil {
		return libvirt.StorageVol{}, err
	}
	if _, ok := p.vols[v.Name]; ok {
		return libvirt.StorageVol{}, lverr(libvirt.ErrStorageVolExist, "storage volume '%s' already exists", v.Name)
	}
	if b := v.BackingStore; b != nil && !f.fileExists(b.Path) {
		return libvirt.StorageVol{}, lverr(libvirt.ErrSystemError, "Cannot access backing file '%s': No such file or directory", b.Path)
	}
	p.vols[v.Name] = nil
	return libvirt.StorageVol{Pool: pool.Name, Name: v.Name, Key: path.Join(p.path, v.Name)}, nil
}

// fileExists reports whether file is a volume of some pool.
func (f *fake) fileExists(file string) bool {
	for _, p := range f.pools {
		if _, ok := p.vols[path.Base(file)]; ok && path.Dir(file) == path.Clean(p.path) {
			return true
		}
	}
	return false
}

// vol runs fn on vol's bytes under the lock, after the rules.
func (f *fake) vol(method string, vol libvirt.StorageVol, fn func(p *fakePool, b []byte) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call(method, vol.Name, changing[method]); err != nil {
		return err
	}
	p, err := f.activePool(vol.Pool)
	if err != nil {
		return err
	}
	b, ok := p.vols[vol.Name]
	if !ok {
		return lverr(libvirt.ErrNoStorageVol, "Storage volume not found: no storage vol with matching name '%s'", vol.Name)
	}
	return fn(p, b)
}

func (f *fake) StorageVolGetPath(vol libvirt.StorageVol) (string, error) {
	var file string
	err := f.vol("StorageVolGetPath", vol, func(p *fakePool, _ []byte) error { file = path.Join(p.path, vol.Name); return nil })
	return file, err
}

func (f *fake) StorageVolUpload(vol libvirt.StorageVol, r io.Reader, _, length uint64, _ libvirt.StorageVolUploadFlags) error {
	return f.vol("StorageVolUpload", vol, func(p *fakePool, _ []byte) error {
		var b bytes.Buffer
		if _, err := io.CopyN(&b, r, int64(length)); err != nil {
			return lverr(libvirt.ErrRPC, "stream: %v", err)
		}
		p.vols[vol.Name] = b.Bytes()
		return nil
	})
}

func (f *fake) StorageVolDownload(vol libvirt.StorageVol, w io.Writer, _, _ uint64, _ libvirt.StorageVolDownloadFlags) error {
	return f.vol("StorageVolDownload", vol, func(_ *fakePool, b []byte) error {
		_, err := w.Write(b)
		return err
	})
}

func (f *fake) StorageVolDelete(vol libvirt.StorageVol, _ libvirt.StorageVolDeleteFlags) error {
	return f.vol("StorageVolDelete", vol, func(p *fakePool, _ []byte) error {
		delete(p.vols, vol.Name)
		return nil
	})
}
