package cli

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/provision/download"
	"github.com/kprov/kprov/provision/state"
)

// download makes the spec's base image a local file: a path as it is
// (relative to the spec's folder), a URL downloaded once into
// $KPROV_CACHE/images and checked against the spec's sums, the published
// checksum file, or the sha256 kprov.lock.hcl recorded on the first run.
// It needs no libvirt, so it runs before the first connection.
func (h *hypervisor) download(ctx context.Context) error {
	if h.imagePath != "" {
		return nil
	}
	im := h.cl.spec.Cluster.Image
	if !isURL(im.Source) {
		h.imagePath = im.Source
		if !filepath.IsAbs(h.imagePath) {
			h.imagePath = filepath.Join(filepath.Dir(h.specPath), h.imagePath)
		}
		return nil
	}
	want := download.Want{SHA256: im.SHA256, SHA512: im.SHA512, SumsURL: im.ChecksumURL, SumsName: im.ChecksumName}
	if want.SHA256 == "" {
		lock, err := lockfile.Load(lockfile.Path(h.specPath))
		if err != nil {
			return err
		}
		if e, ok := lock.Get("image", im.Source); ok {
			want.SHA256 = e.SHA256
		}
	}
	f := &download.Fetcher{Cache: state.CacheDir("images", h.env.Lookup), Progress: h.env.Stderr, Terminal: terminal(h.env.Stderr)}
	r, err := f.Get(ctx, im.Source, want)
	if err != nil {
		return err
	}
	if r.Cached {
		fmt.Fprintf(h.env.Stderr, "  image %s: cached in %s (sha256 %s)\n", im.Source, r.Path, r.SHA256[:12])
	} else {
		fmt.Fprintf(h.env.Stderr, "  image %s: downloaded to %s (%d MiB, sha256 %s)\n", im.Source, r.Path, r.Size>>20, r.SHA256[:12])
	}
	h.imagePath = r.Path
	return nil
}

// isURL reports whether s is an http(s) URL.
func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}
