package apply_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/provision/judge"
	"github.com/kprov/kprov/provision/spec"
)

// Test inputs: the early-2020 manifests are faithful copies in
// ../shared/upstream; current ones come from upstream module zips on the
// Go module proxy (see bootstrap/addons/upstream_test.go).
type moduleRef struct{ Module, Version, Path string }

var (
	calicoCurrent = moduleRef{"github.com/projectcalico/calico", "v1.11.0-cni-plugin.0.20250813170300-a0db560f0520", "manifests/calico.yaml"}
	nginxCurrent  = moduleRef{"k8s.io/ingress-nginx", "v0.0.0-20240708192948-52c50467d67d", "deploy/static/provider/cloud/deploy.yaml"}
	metallbV0135  = moduleRef{"go.universe.tf/metallb", "v0.13.5", "config/manifests/metallb-native.yaml"}
	metallbV0152  = moduleRef{"go.universe.tf/metallb", "v0.15.2", "config/manifests/metallb-native.yaml"}
)

func upstream(t testing.TB, rel string) addons.Manifest {
	t.Helper()
	path := filepath.Join(judge.RepoRoot(t), "..", "shared", "upstream", filepath.FromSlash(rel))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: the upstream test data lives in ../shared/upstream", err)
	}
	return addons.Manifest{Source: path, Data: data}
}

func fromProxy(t testing.TB, m moduleRef) addons.Manifest {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", m.Module+"@"+m.Version)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s@%s: %v\n%s", m.Module, m.Version, err, out)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		t.Fatalf("go mod download %s@%s: %s %v", m.Module, m.Version, info.Error, err)
	}
	data, err := os.ReadFile(filepath.Join(info.Dir, filepath.FromSlash(m.Path)))
	if err != nil {
		t.Fatal(err)
	}
	return addons.Manifest{Source: m.Module + "@" + m.Version + "/" + m.Path, Data: data}
}

func load(t testing.TB, name string) *spec.Cluster {
	t.Helper()
	s, diags := spec.NewLoader().LoadFile(filepath.Join(judge.RepoRoot(t), "examples", name+".hcl"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return s.Cluster
}

var (
	daemonSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
)
