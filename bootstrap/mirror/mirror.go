// Package mirror copies a cluster's images into a private registry laid out
// for a spec's registries.mirror_all (REGISTRY/<upstream host>/<repository>),
// digest-preserving, so an air-gapped site can pull every image with its
// upstream name from that registry. A copy is resumable: images the target
// already holds with the same digest are skipped.
package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/registry"
)

// DefaultParallel is how many images are copied at once by default.
const DefaultParallel = 2

// Options say where images go and how.
type Options struct {
	// Target is the registry root: host[:port], or https://host[:port]
	// (http://host[:port] with PlainHTTP). See ParseTarget.
	Target string
	// PlainHTTP allows the target to be reached over http.
	PlainHTTP bool
	// CAFile is a PEM file of the CA that signed the target's certificate
	// (a relative path starts at the working folder).
	CAFile string
	// Sources are the spec's mirrors (registry.Upstreams); an image whose
	// upstream host has mirrors is read from them, else from upstream.
	Sources []registry.Upstream
	// BaseDir is where the spec's relative ca_file paths start.
	BaseDir string
	// Keychain authenticates to source and target; nil is anonymous.
	Keychain authn.Keychain
	// Parallel is how many images are copied at once (DefaultParallel when 0).
	Parallel int
	// DryRun looks at sources and target but writes nothing.
	DryRun bool
	// Out receives one line per image.
	Out io.Writer
	// Progress, when set (a terminal), shows bytes moved for large images.
	Progress io.Writer
}

// Outcome is what happened to one image.
type Outcome struct {
	Image  string // the upstream reference
	Source string // where it was read from (empty when the target had it)
	Target string // where it is now
	Digest string // its manifest digest, equal at source and target
	Size   int64  // manifests, configs and layers, in bytes (0 when skipped)
	// Present: the target already held it; nothing was copied.
	Present bool
}

// Result sums up a Copy.
type Result struct {
	// Images are the outcomes of the images that did not fail, in the
	// order given.
	Images []Outcome
	// Copied counts images copied (with DryRun: to copy), Present those
	// already there; Bytes is the size of the copied ones.
	Copied, Present int
	Bytes           int64
}

// Copy copies every image of imgs into opts.Target, Parallel at a time. It
// goes on past a failed image and returns every failure joined; a
// cancelled ctx stops it at once, and the next run finishes the copy.
func Copy(ctx context.Context, imgs []images.Image, opts Options) (Result, error) {
	host, err := ParseTarget(opts.Target, opts.PlainHTTP)
	if err != nil {
		return Result{}, err
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultParallel
	}
	imgs = unique(imgs)
	c := &copier{
		opts:  opts,
		host:  host,
		trans: &transports{},
		out:   newPrinter(opts.Out, opts.Progress),
		total: len(imgs),
	}
	if c.dst, err = c.trans.get(opts.PlainHTTP, opts.CAFile, ""); err != nil {
		return Result{}, fmt.Errorf("CA file of the target: %w", err)
	}
	if err := c.ping(ctx); err != nil {
		return Result{}, err
	}

	outcomes := make([]*Outcome, len(imgs))
	errs := make([]error, len(imgs))
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for i, img := range imgs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			outcomes[i], errs[i] = c.one(ctx, img)
		}()
	}
	wg.Wait()
	c.out.done()

	var res Result
	for _, o := range outcomes {
		if o == nil {
			continue
		}
		res.Images = append(res.Images, *o)
		if o.Present {
			res.Present++
		} else {
			res.Copied++
			res.Bytes += o.Size
		}
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("copy interrupted after %d of %d images (run it again to finish): %w", res.Copied+res.Present, len(imgs), ctx.Err())
	}
	return res, errors.Join(errs...)
}

// unique drops repeated images (the same reference and pinned digest).
func unique(imgs []images.Image) []images.Image {
	seen := map[images.Image]bool{}
	var out []images.Image
	for _, img := range imgs {
		if !seen[img] {
			seen[img] = true
			out = append(out, img)
		}
	}
	return out
}

// copier is one Copy's shared state.
type copier struct {
	opts     Options
	host     string // the target's host[:port]
	trans    *transports
	dst      *route
	out      *printer
	total    int
	mu       sync.Mutex
	finished int
}

// line prints the outcome line of one image, numbered in finishing order.
func (c *copier) line(format string, args ...any) {
	c.mu.Lock()
	c.finished++
	n := c.finished
	c.mu.Unlock()
	c.out.line(fmt.Sprintf("[%d/%d] ", n, c.total) + fmt.Sprintf(format, args...))
}

// FormatSize formats n bytes for people: "45.1 MB", "3.2 kB", "0 MB".
func FormatSize(n int64) string {
	switch {
	case n == 0:
		return "0 MB"
	case n < 100e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

// seconds formats d as "2.3 s".
func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1f s", d.Seconds())
}
