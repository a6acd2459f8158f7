package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"golang.org/x/sys/unix"
)

// Result is what building one image cost and gave.
type Result struct {
	Ref      string
	Digest   string
	Cached   bool // the store held it from the same recipe
	CPU      time.Duration
	Wall     time.Duration
	Size     int64 // bytes a pull moves (manifest, config, compressed layers)
	Unpacked int64 // the layers' tar sizes
	Err      error
}

// Build makes every recipe's image into the OCI layout at dir, in order,
// reusing what the store and the cache hold for the same recipe. A failed
// image does not stop the others; the error names every failed one. Then
// the blobs no image uses are removed (and with pruneOthers the images of
// no recipe here).
func Build(e *Env, dir string, recipes []recipe, pruneOthers bool) ([]Result, error) {
	unlock, err := lock(e, filepath.Join(e.Cache, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	p, err := openLayout(dir)
	if err != nil {
		return nil, err
	}
	var results []Result
	var failed []error
	keep := map[string]bool{}
	for _, r := range recipes {
		ref, err := ParseRef(r.ref)
		if err != nil {
			return results, err
		}
		keep[ref.String()] = true
		res := buildOne(e, string(p), ref.String(), r)
		results = append(results, res)
		if res.Err != nil {
			e.logf("%s: FAILED: %v", res.Ref, res.Err)
			failed = append(failed, fmt.Errorf("%s: %w", res.Ref, res.Err))
			continue
		}
		state := "built"
		if res.Cached {
			state = "up to date"
		}
		e.logf("%s: %s %s (%.0f CPU-s, %.0f s, %s)", res.Ref, state, res.Digest, res.CPU.Seconds(), res.Wall.Seconds(), mb(res.Size))
	}
	if pruneOthers {
		if err := prune(p, keep); err != nil {
			return results, err
		}
	}
	if n, size, err := gc(string(p)); err != nil {
		return results, fmt.Errorf("remove unused blobs of %s: %w", p, err)
	} else if n > 0 {
		e.logf("removed %d unused blobs (%s) from %s", n, mb(size), p)
	}
	if len(failed) > 0 {
		return results, fmt.Errorf("%d of %d images failed: %w", len(failed), len(recipes), errors.Join(failed...))
	}
	return results, nil
}

// buildOne makes one image, measuring CPU time (this process and its
// children: go, gcc, debootstrap) and wall time.
func buildOne(e *Env, dir, ref string, r recipe) Result {
	cpu0, t0 := cpuTime(), time.Now()
	finish := func(d v1.Descriptor, wasCached bool, err error) Result {
		res := Result{Ref: ref, CPU: cpuTime() - cpu0, Wall: time.Since(t0), Err: err}
		if err == nil {
			res.Digest, res.Cached = d.Digest.String(), wasCached
			res.Size, res.Unpacked = imageSize(dir, d), unpacked(d)
		}
		return res
	}
	img, err := r.make(e)
	if err != nil {
		return finish(v1.Descriptor{}, false, err)
	}
	key := img.Key()
	if d, ok := cached(dir, ref, key); ok {
		return finish(d, true, nil)
	}
	layers := make([]*fileLayer, len(img.Layers))
	names := make([]string, len(img.Layers))
	var tarSize int64
	for i, l := range img.Layers {
		if layers[i], err = e.Layer(l); err != nil {
			return finish(v1.Descriptor{}, false, err)
		}
		names[i] = l.Name
		tarSize += layers[i].meta.TarSize
	}
	vimg, err := assemble(layers, names, img.Config)
	if err != nil {
		return finish(v1.Descriptor{}, false, err)
	}
	d, err := store(layout.Path(dir), vimg, ref, key, tarSize)
	return finish(d, false, err)
}

// cpuTime is the user and system time of this process and of its waited-for
// descendants.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// lock takes the build cache's lock (one build at a time), waiting for
// another build to finish.
func lock(e *Env, path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		e.logf("another build holds %s: waiting for it", path)
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
	}
	return func() { f.Close() }, nil
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
