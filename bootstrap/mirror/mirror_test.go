package mirror

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/registry"
	"github.com/kprov/kprov/provision/spec"
)

const (
	pause = "registry.k8s.io/pause:3.9"
	node  = "calico/node:v3.28.5" // docker.io, as manifests name it
)

// fixture is a source registry A laid out as a mirror_all, holding a
// two-platform index (pause) and a single image (calico/node), and an
// empty target B.
type fixture struct {
	a, b    *testRegistry
	digests map[string]string // upstream reference -> digest at A
	imgs    []images.Image
	sources []registry.Upstream
}

func newFixture(t *testing.T, size int64) *fixture {
	f := &fixture{a: newRegistry(t, false), b: newRegistry(t, false)}
	f.digests = map[string]string{
		pause: f.a.pushIndex(t, "registry.k8s.io/pause:3.9", size),
		node:  f.a.pushImage(t, "docker.io/calico/node:v3.28.5", size),
	}
	f.imgs = []images.Image{{Ref: pause, Source: "kubeadm"}, {Ref: node, Source: "addons/calico"}}
	c := &spec.Cluster{Registries: &spec.Registries{MirrorAll: "http://" + f.a.host, PlainHTTP: true}}
	f.sources = registry.Upstreams(c, []string{pause, node})
	return f
}

func (f *fixture) options(out *bytes.Buffer) Options {
	return Options{Target: f.b.host, PlainHTTP: true, Sources: f.sources, Out: out}
}

// targetDigests are the digests B holds for f's images.
func (f *fixture) check(t *testing.T) {
	t.Helper()
	for ref, want := range f.digests {
		at := strings.TrimPrefix(registry.AllRepository("", ref), "/")
		if got := f.b.digest(t, at); got != want {
			t.Errorf("%s at the target is %q, the source's is %s", at, got, want)
		}
	}
}

func TestCopyPreservesDigestsAndResumes(t *testing.T) {
	f := newFixture(t, 4096)
	var out bytes.Buffer
	res, err := Copy(context.Background(), f.imgs, f.options(&out))
	if err != nil {
		t.Fatalf("copy: %v\n%s", err, out.String())
	}
	f.check(t)
	if res.Copied != 2 || res.Present != 0 || res.Bytes <= 2*4096 {
		t.Errorf("first run: %+v, want 2 copied, none present, more than 8 KB", res)
	}
	for _, want := range []string{
		"[1/2] ", "[2/2] ",
		pause + " → " + f.b.host + "/registry.k8s.io/pause:3.9 (",
		node + " → " + f.b.host + "/docker.io/calico/node:v3.28.5 (",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	for _, o := range res.Images {
		if o.Digest != f.digests[o.Image] || !strings.HasPrefix(o.Source, "http://"+f.a.host+"/") {
			t.Errorf("outcome %+v: want digest %s from A", o, f.digests[o.Image])
		}
	}

	writes := f.b.writes.Load()
	out.Reset()
	res, err = Copy(context.Background(), f.imgs, f.options(&out))
	if err != nil {
		t.Fatalf("second copy: %v", err)
	}
	if n := f.b.writes.Load() - writes; n != 0 {
		t.Errorf("second run made %d write requests to the target, want 0", n)
	}
	if res.Copied != 0 || res.Present != 2 || res.Bytes != 0 {
		t.Errorf("second run: %+v, want 2 already there", res)
	}
	if strings.Count(out.String(), "already there") != 2 {
		t.Errorf("second run output:\n%s", out.String())
	}
}

func TestPinnedImageAtTargetNeedsNoSource(t *testing.T) {
	f := newFixture(t, 1024)
	if _, err := Copy(context.Background(), f.imgs, f.options(new(bytes.Buffer))); err != nil {
		t.Fatal(err)
	}
	// The air-gapped side: the source is gone, the lock pins the digests.
	f.a.srv.Close()
	pinned := []images.Image{{Ref: pause, Digest: f.digests[pause]}, {Ref: node, Digest: f.digests[node]}}
	res, err := Copy(context.Background(), pinned, f.options(new(bytes.Buffer)))
	if err != nil || res.Present != 2 {
		t.Fatalf("pinned images already at the target: %+v, %v; want both present without reading the source", res, err)
	}
	// Unpinned, the source must be read to know the digest: it fails,
	// naming the image and the source.
	_, err = Copy(context.Background(), f.imgs[:1], f.options(new(bytes.Buffer)))
	if err == nil || !strings.Contains(err.Error(), pause) || !strings.Contains(err.Error(), f.a.host+"/registry.k8s.io/pause:3.9") {
		t.Fatalf("unpinned copy from a closed source: %v, want an error naming the image and the source", err)
	}
}

func TestPinnedDigestMismatchIsRefused(t *testing.T) {
	f := newFixture(t, 1024)
	stale := "sha256:" + strings.Repeat("ab", 32)
	var out bytes.Buffer
	_, err := Copy(context.Background(), []images.Image{{Ref: pause, Digest: stale}}, f.options(&out))
	var m mismatch
	if !errors.As(err, &m) {
		t.Fatalf("copy of a changed image: %v, want a digest mismatch", err)
	}
	for _, want := range []string{pause, stale, f.digests[pause], "http://" + f.a.host + "/registry.k8s.io/pause:3.9", f.b.host} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if f.b.writes.Load() != 0 {
		t.Errorf("a refused image wrote %d requests to the target", f.b.writes.Load())
	}
	if !strings.Contains(out.String(), pause+" failed") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestPinnedDigestIsCopied(t *testing.T) {
	f := newFixture(t, 1024)
	// By digest only, and by tag with a pin.
	imgs := []images.Image{{Ref: "registry.k8s.io/pause@" + f.digests[pause]}, {Ref: node, Digest: f.digests[node]}}
	res, err := Copy(context.Background(), imgs, f.options(new(bytes.Buffer)))
	if err != nil || res.Copied != 2 {
		t.Fatalf("pinned copy: %+v, %v", res, err)
	}
	if got := f.b.digest(t, "registry.k8s.io/pause@"+f.digests[pause]); got != f.digests[pause] {
		t.Errorf("pause by digest at the target: %q", got)
	}
	if got := f.b.digest(t, "docker.io/calico/node:v3.28.5"); got != f.digests[node] {
		t.Errorf("calico/node at the target: %q, want %s", got, f.digests[node])
	}
}

func TestCancelStopsAtOnceAndNextRunFinishes(t *testing.T) {
	f := newFixture(t, 64<<10)
	f.b.slow.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		res Result
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := Copy(ctx, f.imgs, f.options(new(bytes.Buffer)))
		done <- result{res, err}
	}()
	select {
	case <-f.b.uploading:
	case r := <-done:
		t.Fatalf("copy ended before any upload: %+v, %v", r.res, r.err)
	case <-time.After(20 * time.Second):
		t.Fatal("no blob upload reached the target in 20 s")
	}
	cancel()
	start := time.Now()
	select {
	case r := <-done:
		if !errors.Is(r.err, context.Canceled) {
			t.Errorf("cancelled copy: %v, want context.Canceled", r.err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("cancelled copy took %v to stop, want under a second", took)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled copy still running after 5 s")
	}

	f.b.slow.Store(false)
	res, err := Copy(context.Background(), f.imgs, f.options(new(bytes.Buffer)))
	if err != nil || res.Copied+res.Present != 2 {
		t.Fatalf("run after the cancel: %+v, %v", res, err)
	}
	f.check(t)
}

func TestDryRunWritesNothing(t *testing.T) {
	f := newFixture(t, 1024)
	opts := f.options(new(bytes.Buffer))
	opts.DryRun = true
	res, err := Copy(context.Background(), f.imgs, opts)
	if err != nil || res.Copied != 2 || res.Bytes == 0 {
		t.Fatalf("dry run: %+v, %v; want 2 to copy with their size", res, err)
	}
	if !strings.Contains(opts.Out.(*bytes.Buffer).String(), "would be copied") {
		t.Errorf("dry-run output:\n%s", opts.Out)
	}
	if n := f.b.writes.Load(); n != 0 {
		t.Errorf("dry run made %d write requests", n)
	}
	if d := f.b.digest(t, "registry.k8s.io/pause:3.9"); d != "" {
		t.Errorf("dry run left pause at the target: %s", d)
	}
}

// A mirror block (not mirror_all) serves the upstream's repositories at
// its root; a mirror on the target itself is left out, so upstream (here
// unreachable) is tried and named.
func TestMirrorEndpoints(t *testing.T) {
	a, b := newRegistry(t, false), newRegistry(t, false)
	want := a.pushImage(t, "library/busybox:1.36", 1024)
	c := &spec.Cluster{Registries: &spec.Registries{Mirrors: []*spec.Mirror{
		{Registry: "docker.io", Endpoints: []string{"http://" + a.host}, PlainHTTP: true},
		{Registry: "quay.io", Endpoints: []string{"http://" + b.host}, PlainHTTP: true},
	}}}
	refs := []string{"busybox:1.36", "quay.io/x/y:1"}
	opts := Options{Target: b.host, PlainHTTP: true, Sources: registry.Upstreams(c, refs)}
	res, err := Copy(context.Background(), []images.Image{{Ref: "busybox:1.36"}}, opts)
	if err != nil || res.Copied != 1 {
		t.Fatalf("copy through a mirror block: %+v, %v", res, err)
	}
	if got := b.digest(t, "docker.io/library/busybox:1.36"); got != want {
		t.Errorf("busybox at the target: %q, want %s", got, want)
	}
	if got := opts.Sources; len(got) == 0 {
		t.Fatal("no sources")
	}
	src, err := (&copier{opts: opts, host: b.host, trans: &transports{}}).sources(upstream{host: "quay.io", repo: "x/y", tag: "1"}, "quay.io/x/y:1")
	if err != nil || len(src) != 1 || src[0].prefix != "quay.io" {
		t.Errorf("sources of an image whose only mirror is the target: %+v, %v; want upstream", src, err)
	}
}

func TestTLSWithCAFiles(t *testing.T) {
	a, b := newRegistry(t, true), newRegistry(t, true)
	want := a.pushImage(t, "registry.k8s.io/pause:3.9", 1024)
	dir := t.TempDir()
	writeCA := func(r *testRegistry, path string) {
		der := r.srv.Certificate().Raw
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeCA(a, filepath.Join(dir, "a.pem"))
	writeCA(b, filepath.Join(dir, "b.pem"))
	c := &spec.Cluster{Registries: &spec.Registries{MirrorAll: "https://" + a.host, CAFile: "a.pem"}}
	opts := Options{Target: "https://" + b.host, Sources: registry.Upstreams(c, []string{pause}), BaseDir: dir}

	// Without the target's CA, its certificate is not trusted.
	if _, err := Copy(context.Background(), []images.Image{{Ref: pause}}, opts); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("copy to an untrusted target: %v, want a certificate error", err)
	}
	opts.CAFile = filepath.Join(dir, "b.pem")
	res, err := Copy(context.Background(), []images.Image{{Ref: pause}}, opts)
	if err != nil || res.Copied != 1 {
		t.Fatalf("copy over TLS: %+v, %v", res, err)
	}
	if got := b.digest(t, "registry.k8s.io/pause:3.9"); got != want {
		t.Errorf("pause at the target: %q, want %s", got, want)
	}
}

func TestPlainHTTPTargetNeedsTheFlag(t *testing.T) {
	f := newFixture(t, 1024)
	opts := f.options(new(bytes.Buffer))
	opts.PlainHTTP = false
	_, err := Copy(context.Background(), f.imgs, opts)
	if err == nil || !strings.Contains(err.Error(), "--plain-http") {
		t.Fatalf("copy to an http registry without PlainHTTP: %v, want a refusal of plain HTTP", err)
	}
	if f.b.writes.Load() != 0 {
		t.Error("the refused target was written to")
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in    string
		plain bool
		want  string // "" for an error
	}{
		{"registry.example:5000", false, "registry.example:5000"},
		{"https://registry.example:5000/", false, "registry.example:5000"},
		{"http://10.0.0.1:5000", true, "10.0.0.1:5000"},
		{"10.0.0.1:5000", true, "10.0.0.1:5000"},
		{"http://10.0.0.1:5000", false, ""},
		{"https://r.example", true, ""},
		{"ftp://r.example", false, ""},
		{"r.example/prefix", false, ""},
		{"user@r.example", false, ""},
		{"", false, ""},
	} {
		got, err := ParseTarget(tc.in, tc.plain)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseTarget(%q, %t) = %q, %v; want %q", tc.in, tc.plain, got, err, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct{ in, host, repo, tag, digest string }{
		{"registry.k8s.io/pause:3.9", "registry.k8s.io", "pause", "3.9", ""},
		{"calico/node:v3.28.5", "docker.io", "calico/node", "v3.28.5", ""},
		{"busybox", "docker.io", "library/busybox", "latest", ""},
		{"localhost:5000/a/b@sha256:" + strings.Repeat("0", 64), "localhost:5000", "a/b", "", "sha256:" + strings.Repeat("0", 64)},
		{"quay.io/metallb/speaker:v0.14.8@sha256:" + strings.Repeat("1", 64), "quay.io", "metallb/speaker", "v0.14.8", "sha256:" + strings.Repeat("1", 64)},
	} {
		u, err := parse(tc.in)
		if err != nil || u != (upstream{tc.host, tc.repo, tc.tag, tc.digest}) {
			t.Errorf("parse(%q) = %+v, %v", tc.in, u, err)
		}
	}
	if _, err := parse("Registry.k8s.io/UPPER:tag"); err == nil {
		t.Error("parse accepted an upper-case repository")
	}
}
