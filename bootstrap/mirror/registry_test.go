package mirror

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testRegistry is an in-memory registry on loopback that counts the
// requests that write (POST, PATCH, PUT) and can hold blob uploads.
type testRegistry struct {
	srv    *httptest.Server
	host   string // 127.0.0.1:port
	writes atomic.Int64
	// slow holds every blob upload until the client goes away.
	slow atomic.Bool
	// uploading is signalled (without blocking) when a held upload starts.
	uploading chan struct{}
}

func newRegistry(t *testing.T, tls bool) *testRegistry {
	t.Helper()
	r := &testRegistry{uploading: make(chan struct{}, 1)}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost || req.Method == http.MethodPatch || req.Method == http.MethodPut {
			r.writes.Add(1)
			if r.slow.Load() && strings.Contains(req.URL.Path, "/blobs/uploads/") {
				select {
				case r.uploading <- struct{}{}:
				default:
				}
				select {
				case <-req.Context().Done():
				case <-time.After(30 * time.Second):
				}
				http.Error(w, "held", http.StatusServiceUnavailable)
				return
			}
		}
		reg.ServeHTTP(w, req)
	})
	r.srv = httptest.NewUnstartedServer(h)
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if tls {
		r.srv.StartTLS()
	} else {
		r.srv.Start()
	}
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(strings.TrimPrefix(r.srv.URL, "http://"), "https://")
	return r
}

// options for ggcr to reach r directly in a test.
func (r *testRegistry) options() []remote.Option {
	return []remote.Option{remote.WithTransport(r.srv.Client().Transport)}
}

func (r *testRegistry) ref(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(r.host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// digest is what ref names at r ("" when nothing).
func (r *testRegistry) digest(t *testing.T, s string) string {
	t.Helper()
	d, err := remote.Head(r.ref(t, s), r.options()...)
	if err != nil {
		if notFound(err) {
			return ""
		}
		t.Fatalf("HEAD %s at %s: %v", s, r.host, err)
	}
	return d.Digest.String()
}

// pushIndex pushes a random two-platform index of layers layers of size
// bytes each to s and returns its digest.
func (r *testRegistry) pushIndex(t *testing.T, s string, size int64) string {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(size, 2)
		if err != nil {
			t.Fatal(err)
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	if err := remote.WriteIndex(r.ref(t, s), idx, r.options()...); err != nil {
		t.Fatal(err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// pushImage pushes a random single image to s and returns its digest.
func (r *testRegistry) pushImage(t *testing.T, s string, size int64) string {
	t.Helper()
	img, err := random.Image(size, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r.ref(t, s), img, r.options()...); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}
