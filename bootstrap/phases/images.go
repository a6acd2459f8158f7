package phases

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/bootstrap/nodepreprun"
	"github.com/kprov/kprov/bootstrap/prepull"
	"github.com/kprov/kprov/bootstrap/registry"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/provision/spec"
)

// images pulls every image the cluster runs on every node, through the
// spec's mirrors, before kubeadm starts; checks each digest against
// kprov.lock.hcl (with --locked, a changed digest is refused naming image,
// both digests and the node) and pins the digests not pinned yet.
func (b *Bootstrapper) images(ctx context.Context) error {
	c := b.o.Cluster
	imgs, err := b.imageList(ctx)
	if err != nil {
		return err
	}
	refs := make([]string, len(imgs))
	for i, img := range imgs {
		refs[i] = img.Ref
	}
	upstreams := registry.Upstreams(c, refs)
	o := nodepreprun.Options{SpecDir: filepath.Dir(b.o.SpecPath), Images: refs}
	var mu sync.Mutex
	var results []prepull.Result
	err = remote.Each(ctx, b.all, b.o.Parallel, func(ctx context.Context, n *remote.Conn) error {
		// The mirrors of every image's host (bootstrap/prepare knew
		// kubeadm's only); nothing changes when they are all there.
		pr, err := nodepreprun.Containerd(ctx, n, c, o)
		if len(pr.Changed) > 0 {
			b.changed(len(pr.Changed), "%s: %s", n.Name(), strings.Join(pr.Changed, "; "))
		}
		if err != nil {
			return err
		}
		// Workers leave out the control plane's static pod images.
		cp := b.planned(n.Name()).Role == spec.RoleControlPlane
		r, err := prepull.Node(ctx, n, images.ForNode(imgs, cp), upstreams)
		if len(r.Pulled) > 0 {
			b.changed(len(r.Pulled), "%s: pulled %s", n.Name(), plural(len(r.Pulled), "image"))
		}
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
		return err
	})
	if err != nil {
		return err
	}
	pins, warnings, err := prepull.Check(results, imgs, b.o.Locked)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		b.logf("warning: %s", w)
	}
	return b.pinImages(imgs, pins)
}

// pinImages records the digests of imgs that kprov.lock.hcl does not hold
// yet, or that changed (only without --locked; Check refused them with it).
func (b *Bootstrapper) pinImages(imgs []images.Image, pins map[string]string) error {
	path, added, err := PinDigests(b.o.SpecPath, imgs, pins)
	if len(added) > 0 {
		b.changed(len(added), "%s: pinned the digest of %s (%s)", path, plural(len(added), "image"), strings.Join(added, ", "))
	}
	return err
}

// PinDigests writes pins (image ref -> digest) of imgs into the lock next
// to specPath where it holds another digest or none; it returns the lock's
// path and the refs it pinned.
func PinDigests(specPath string, imgs []images.Image, pins map[string]string) (string, []string, error) {
	path := lockfile.Path(specPath)
	lock, err := lockfile.Load(path)
	if err != nil {
		return path, nil, err
	}
	var added []string
	for _, img := range imgs {
		d := pins[img.Ref]
		if have, ok := lock.Digest(img.Ref); d == "" || (ok && have == d) {
			continue
		}
		if err := lock.SetDigest(img.Ref, d); err != nil {
			return path, nil, err
		}
		added = append(added, img.Ref)
	}
	if len(added) == 0 {
		return path, nil, nil
	}
	return path, added, lock.Write(path)
}

// imageList is every image the cluster runs with the digests the lock pins,
// read once per command (it fetches the addon manifests).
func (b *Bootstrapper) imageList(ctx context.Context) ([]images.Image, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.imgs == nil {
		imgs, err := ClusterImages(ctx, b.o.Cluster, b.o.SpecPath, b.o.Out)
		if err != nil {
			return nil, err
		}
		b.imgs = imgs
	}
	return b.imgs, nil
}

// ClusterImages is every image c runs: kubeadm's for its version, then the
// addon objects' (the manifests fetched, checked and recorded in the lock
// next to specPath, as render --addons does), each with the digest the
// lock pins. Log lines go to log.
func ClusterImages(ctx context.Context, c *spec.Cluster, specPath string, log io.Writer) ([]images.Image, error) {
	// kubeadm's list first: an unknown version fails before any fetch.
	if _, err := images.Kubeadm(c); err != nil {
		return nil, err
	}
	steps, err := BuildAddons(ctx, c, specPath, false, func(format string, args ...any) {
		fmt.Fprintf(log, format+"\n", args...)
	})
	if err != nil {
		return nil, err
	}
	lock, err := lockfile.Load(lockfile.Path(specPath))
	if err != nil {
		return nil, err
	}
	return images.List(c, steps, lock)
}
