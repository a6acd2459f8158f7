package judge

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Module names one file of an upstream repository as the Go module proxy
// serves it: current manifests that ../shared/upstream does not hold.
type Module struct{ Path, Version, File string }

// Current upstream manifests tests use. The proxy serves Calico's
// repository only as a pseudo-version (its tags are not module versions):
// this commit carries the v3.28.5 manifests.
var (
	CalicoCurrent = Module{"github.com/projectcalico/calico", "v1.11.0-cni-plugin.0.20250813170300-a0db560f0520", "manifests/calico.yaml"}
	NginxCurrent  = Module{"k8s.io/ingress-nginx", "v0.0.0-20240708192948-52c50467d67d", "deploy/static/provider/cloud/deploy.yaml"}
	MetalLBV0135  = Module{"go.universe.tf/metallb", "v0.13.5", "config/manifests/metallb-native.yaml"}
	MetalLBV0152  = Module{"go.universe.tf/metallb", "v0.15.2", "config/manifests/metallb-native.yaml"}
)

// CalicoCurrentVersion is the release of CalicoCurrent's images: a spec
// given that manifest must say calico.version = it.
const CalicoCurrentVersion = "v3.28.5"

// Upstream reads a faithful upstream copy (UpstreamDir: ../shared/upstream
// and its SOURCES.md, or a folder or cache standing in for it); the
// repository never holds a copy.
func Upstream(t testing.TB, rel string) (path string, data []byte) {
	t.Helper()
	path = filepath.Join(UpstreamDir(t, rel), filepath.FromSlash(rel))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

// Manifests every test spec may name under var.upstream.
var UpstreamManifests = []string{"calico/v3.11/calico.yaml", "ingress-nginx/v0.30.0/deploy/static/mandatory.yaml"}

// FromProxy downloads m's module (cached by the go command) and reads its
// file; source names it as module@version/file.
func FromProxy(t testing.TB, m Module) (source string, data []byte) {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", m.Path+"@"+m.Version)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s@%s: %v\n%s", m.Path, m.Version, err, out)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download %s@%s: %s %v", m.Path, m.Version, info.Error, err)
	}
	data, err = os.ReadFile(filepath.Join(info.Dir, filepath.FromSlash(m.File)))
	if err != nil {
		t.Fatal(err)
	}
	return m.Path + "@" + m.Version + "/" + m.File, data
}
