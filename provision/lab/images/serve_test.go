package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// storeTiny builds a tiny image into the layout at dir as ref.
func storeTiny(t *testing.T, dir, ref, text string) v1.Hash {
	t.Helper()
	p, err := openLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	recipe := tinyImage(ref, text)
	img := buildTiny(t, t.TempDir(), recipe)
	d, err := store(p, img, ref, recipe.Key(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cached(dir, ref, recipe.Key()); !ok {
		t.Fatalf("%s is not cached right after store", ref)
	}
	return d.Digest
}

// pull fetches ref from the registry at host by its mirror_all name and
// reads every layer (ggcr checks each digest).
func pull(t *testing.T, host, ref string) (v1.Hash, error) {
	t.Helper()
	r, _ := ParseRef(ref)
	n, err := name.ParseReference(host+"/"+r.MirrorRepo()+":"+r.Tag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	img, err := remote.Image(n, remote.WithContext(ctx))
	if err != nil {
		return v1.Hash{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return v1.Hash{}, err
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return v1.Hash{}, err
		}
	}
	return img.Digest()
}

func TestServePullsByMirrorAllName(t *testing.T) {
	dir := t.TempDir()
	pause := storeTiny(t, dir, "registry.k8s.io/pause:3.9", "pause")
	node := storeTiny(t, dir, "docker.io/calico/node:v3.28.5", "calico-node")

	ctx, cancel := context.WithCancel(context.Background())
	l, err := Listen(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	s := &Server{Dir: dir, Log: log.New(&logs, "", 0)}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the server did not stop within 10 s")
		}
	})
	host := l.Addr().String()

	for ref, want := range map[string]v1.Hash{"registry.k8s.io/pause:3.9": pause, "docker.io/calico/node:v3.28.5": node} {
		got, err := pull(t, host, ref)
		if err != nil {
			t.Fatalf("pull %s: %v\nserver log:\n%s", ref, err, logs.String())
		}
		if got != want {
			t.Errorf("pull %s: digest %s, want the store's %s", ref, got, want)
		}
	}
	// The path containerd asks for with override_path, by hand.
	resp, err := http.Get("http://" + host + "/v2/registry.k8s.io/pause/manifests/3.9")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Docker-Content-Digest") != pause.String() {
		t.Errorf("GET /v2/registry.k8s.io/pause/manifests/3.9: %s, digest %q", resp.Status, resp.Header.Get("Docker-Content-Digest"))
	}
	if _, err := pull(t, host, "registry.k8s.io/pause:3.10"); err == nil {
		t.Error("an image the store lacks was served")
	}

	// Read-only: no upload starts.
	resp, err = http.Post("http://"+host+"/v2/registry.k8s.io/pause/blobs/uploads/", "application/octet-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST of an upload: %s, want 405", resp.Status)
	}

	// A build while the server runs: the new image is served without a restart.
	time.Sleep(1100 * time.Millisecond) // index.json's time must move
	etcd := storeTiny(t, dir, "registry.k8s.io/etcd:3.5.15-0", "etcd")
	var got v1.Hash
	for i := 0; i < 50; i++ {
		if got, err = pull(t, host, "registry.k8s.io/etcd:3.5.15-0"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil || got != etcd {
		t.Errorf("after a rebuild: pull etcd: %v, digest %s, want %s", err, got, etcd)
	}
}

func TestGCKeepsWhatTheIndexUses(t *testing.T) {
	dir := t.TempDir()
	storeTiny(t, dir, "registry.k8s.io/pause:3.9", "one")
	storeTiny(t, dir, "registry.k8s.io/pause:3.9", "two") // replaces the first
	n, _, err := gc(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("the replaced image's blobs were kept")
	}
	idx, err := readIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 {
		t.Fatalf("%d images in the index, want 1", len(idx.Manifests))
	}
	if _, err := layout.Path(dir).Image(idx.Manifests[0].Digest); err != nil {
		t.Fatal(err)
	}
	blobs, err := imageBlobs(dir, idx.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blobs {
		if _, err := layout.Path(dir).Blob(b); err != nil {
			t.Errorf("blob %s of the kept image is gone: %v", b, err)
		}
	}
}

func TestListenFreebind(t *testing.T) {
	// An address no interface has (TEST-NET-1): binding succeeds, nothing is sent.
	l, err := Listen(context.Background(), "192.0.2.77:0")
	if err != nil {
		t.Fatalf("bind with IP_FREEBIND: %v", err)
	}
	l.Close()
}
