package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/bootstrap/registry"
	"github.com/kprov/kprov/cmd/cli"
	"github.com/kprov/kprov/internal/judge"
)

// loopRegistry is an in-memory registry on loopback counting the requests
// that write.
type loopRegistry struct {
	host   string
	writes atomic.Int64
}

func startRegistry(t *testing.T) *loopRegistry {
	t.Helper()
	r := &loopRegistry{}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost || req.Method == http.MethodPatch || req.Method == http.MethodPut {
			r.writes.Add(1)
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.host = strings.TrimPrefix(srv.URL, "http://")
	return r
}

func (r *loopRegistry) ref(t *testing.T, image string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(registry.AllRepository(r.host, image), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// kprov runs the CLI in-process and returns its exit code and streams.
func kprov(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(args, cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Environ: environ})
	return code, out.String(), errb.String()
}

// kprov mirror copies every image `kprov images` lists from the spec's
// mirror_all registry into another, digest-preserving; a second run copies
// nothing.
func TestMirrorCommand(t *testing.T) {
	upstream := judge.UpstreamDir(t, judge.UpstreamManifests...)
	if _, err := os.Stat(filepath.Join(upstream, "calico", "v3.11", "calico.yaml")); err != nil {
		t.Fatalf("the upstream manifest copies are missing: %v", err)
	}
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials of the user's
	a, b := startRegistry(t), startRegistry(t)
	dir := t.TempDir()
	specPath := filepath.Join(dir, "c.hcl")
	spec := fmt.Sprintf(`variable "upstream" { type = string }
cluster "m" {
  kubernetes_version = "1.21.14"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  calico { manifest = "${var.upstream}/calico/v3.11/calico.yaml" }
  registries {
    mirror_all = "http://%s"
    plain_http = true
  }
}
`, a.host)
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	environ := []string{"KPROV_VAR_upstream=" + upstream, "NO_COLOR=1", "KPROV_STATE_DIR=" + filepath.Join(dir, "state")}

	code, stdout, stderr := kprov(t, environ, "images", specPath, "-o", "json")
	if code != 0 {
		t.Fatalf("kprov images: exit %d\n%s", code, stderr)
	}
	var listed []struct {
		Image string `json:"image"`
	}
	if err := json.Unmarshal([]byte(stdout), &listed); err != nil || len(listed) < 5 {
		t.Fatalf("kprov images -o json: %v, %d images\n%s", err, len(listed), stdout)
	}
	// The source holds every image in mirror_all's layout.
	want := map[string]string{}
	for _, l := range listed {
		img, err := random.Image(512, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(a.ref(t, l.Image), img); err != nil {
			t.Fatal(err)
		}
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		want[l.Image] = d.String()
	}

	code, stdout, stderr = kprov(t, environ, "mirror", specPath, "--to", b.host, "--plain-http")
	if code != 0 {
		t.Fatalf("kprov mirror: exit %d\n%s", code, stderr)
	}
	if !strings.HasPrefix(stdout, fmt.Sprintf("%d copied, 0 already there (", len(want))) {
		t.Errorf("summary: %q, want %d copied", stdout, len(want))
	}
	first := listed[0].Image
	if !strings.Contains(stderr, first+" → "+registry.AllRepository(b.host, first)+" (") {
		t.Errorf("stderr lacks the line of %s:\n%s", first, stderr)
	}
	for image, d := range want {
		got, err := remote.Head(b.ref(t, image))
		if err != nil || got.Digest.String() != d {
			t.Errorf("%s at the target: %v, %v; want %s", image, got, err, d)
		}
	}

	// What was copied is pinned: kprov.lock.hcl holds every digest.
	lock, err := lockfile.Load(lockfile.Path(specPath))
	if err != nil {
		t.Fatal(err)
	}
	for image, d := range want {
		if got, ok := lock.Digest(image); !ok || got != d {
			t.Errorf("lock pins %s as %q, want %s", image, got, d)
		}
	}
	if !strings.Contains(stderr, fmt.Sprintf("pinned the digest of %d images", len(want))) {
		t.Errorf("mirror did not say it pinned the digests:\n%s", stderr)
	}

	writes := b.writes.Load()
	code, stdout, stderr = kprov(t, environ, "mirror", specPath, "--to", "http://"+b.host, "--plain-http")
	if code != 0 || stdout != fmt.Sprintf("0 copied, %d already there (0 MB)\n", len(want)) {
		t.Errorf("second run: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	if n := b.writes.Load() - writes; n != 0 {
		t.Errorf("second run made %d write requests to the target", n)
	}

	// A dry run against an empty registry says what it would copy.
	c := startRegistry(t)
	code, stdout, stderr = kprov(t, environ, "mirror", specPath, "--to", c.host, "--plain-http", "--dry-run")
	if code != 0 || strings.Count(stdout, "would be copied") != len(want) ||
		!strings.Contains(stdout, fmt.Sprintf("%d to copy, 0 already there", len(want))) || c.writes.Load() != 0 {
		t.Errorf("dry run: exit %d, %d writes\n%s%s", code, c.writes.Load(), stdout, stderr)
	}

	// Wrong command lines are usage errors.
	for _, args := range [][]string{
		{"mirror", specPath},
		{"mirror", specPath, "--to", "http://" + b.host},
		{"mirror", specPath, "--to", b.host + "/prefix", "--plain-http"},
	} {
		if code, _, stderr := kprov(t, environ, args...); code != 2 || !strings.Contains(stderr, "--to") {
			t.Errorf("kprov %s: exit %d, want 2 naming --to\n%s", strings.Join(args, " "), code, stderr)
		}
	}
}
