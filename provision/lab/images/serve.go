package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Server serves the OCI layout at Dir as a read-only registry in the
// mirror_all layout: the image REF host/repository:tag is at
// /v2/<host>/<repository>/manifests/<tag>. Blobs are read from the layout
// (ggcr's disk blob handler); manifests are loaded into ggcr's registry
// from index.json, again whenever index.json changes (a build while the
// server runs).
type Server struct {
	Dir string
	Log *log.Logger

	handler atomic.Pointer[http.Handler]
	mu      sync.Mutex
	stamp   string    // index.json's size and time when loaded
	checked time.Time // last look at index.json
}

// Load (re)reads the layout's index.json into a fresh registry.
func (s *Server) Load() (int, error) {
	idx, err := readIndex(s.Dir)
	if err != nil {
		return 0, fmt.Errorf("read the image store %s: %w: build it first (registry.sh build)", s.Dir, err)
	}
	blobs := &readOnlyBlobs{disk: registry.NewDiskBlobHandler(filepath.Join(s.Dir, "blobs")), sizes: map[v1.Hash]int64{}}
	h := registry.New(registry.WithBlobHandler(blobs), registry.Logger(log.New(io.Discard, "", 0)))
	n := 0
	for _, d := range idx.Manifests {
		name := d.Annotations[refAnnotation]
		if name == "" {
			continue
		}
		ref, err := ParseRef(name)
		if err != nil {
			return n, err
		}
		body, err := os.ReadFile(blobPath(s.Dir, d.Digest))
		if err != nil {
			return n, fmt.Errorf("%s: %w", name, err)
		}
		// ggcr's registry takes manifests by PUT only: hand them over in-process.
		req := httptest.NewRequest(http.MethodPut, "/v2/"+ref.MirrorRepo()+"/manifests/"+ref.Tag, bytes.NewReader(body))
		req.Header.Set("Content-Type", string(d.MediaType))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			return n, fmt.Errorf("load %s: registry answered %d: %s", name, rec.Code, rec.Body.String())
		}
		n++
	}
	s.handler.Store(&h)
	return n, nil
}

// indexStamp identifies a version of index.json.
func (s *Server) indexStamp() string {
	info, err := os.Stat(filepath.Join(s.Dir, "index.json"))
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%d %d", info.Size(), info.ModTime().UnixNano())
}

// refresh reloads the index if it changed, looking at most once a second.
func (s *Server) refresh() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.checked) < time.Second {
		return
	}
	s.checked = time.Now()
	stamp := s.indexStamp()
	if stamp == s.stamp || stamp == "" {
		return
	}
	n, err := s.Load()
	if err != nil {
		s.Log.Printf("reload %s: %v (still serving the previous index)", s.Dir, err)
		return
	}
	s.stamp = stamp
	s.Log.Printf("loaded %d images from %s", n, s.Dir)
}

// ServeHTTP answers GET and HEAD; the store is read-only.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the lab registry is read-only: build images with registry.sh build", http.StatusMethodNotAllowed)
		return
	}
	s.refresh()
	h := s.handler.Load()
	if h == nil {
		http.Error(w, "no image store loaded", http.StatusServiceUnavailable)
		return
	}
	s.Log.Printf("%s %s", r.Method, r.URL.Path)
	(*h).ServeHTTP(w, r)
}

// Listen binds addr with IP_FREEBIND, so that the address may be added to
// an interface later (libvirt adds the lab network's gateway).
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_FREEBIND, 1)
		}); err != nil {
			return err
		}
		return serr
	}}
	return lc.Listen(ctx, "tcp", addr)
}

// Serve loads the store and serves it on l until ctx ends.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if s.Log == nil {
		s.Log = log.New(io.Discard, "", 0)
	}
	s.stamp = s.indexStamp()
	n, err := s.Load()
	if err != nil {
		return err
	}
	s.checked = time.Now()
	s.Log.Printf("serving %d images from %s on http://%s", n, s.Dir, l.Addr())
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
	}()
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// readOnlyBlobs serves the layout's blobs through ggcr's disk handler,
// verifying each blob's digest once (the disk handler rehashes a blob on
// every request), and refuses uploads.
type readOnlyBlobs struct {
	disk  registry.BlobHandler
	mu    sync.Mutex
	sizes map[v1.Hash]int64
}

var (
	_ registry.BlobHandler     = (*readOnlyBlobs)(nil)
	_ registry.BlobStatHandler = (*readOnlyBlobs)(nil)
)

// Get opens blob h.
func (b *readOnlyBlobs) Get(ctx context.Context, repo string, h v1.Hash) (io.ReadCloser, error) {
	if _, err := b.Stat(ctx, repo, h); err != nil {
		return nil, err
	}
	return b.disk.Get(ctx, repo, h)
}

// Stat is blob h's size, once its content was checked against h.
func (b *readOnlyBlobs) Stat(ctx context.Context, repo string, h v1.Hash) (int64, error) {
	b.mu.Lock()
	n, ok := b.sizes[h]
	b.mu.Unlock()
	if ok {
		return n, nil
	}
	n, err := b.disk.(registry.BlobStatHandler).Stat(ctx, repo, h)
	if err != nil {
		return 0, err
	}
	b.mu.Lock()
	b.sizes[h] = n
	b.mu.Unlock()
	return n, nil
}
