package addons_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/provision/judge"
	"github.com/kprov/kprov/provision/spec"
)

// The upstream manifests tests patch. The early-2020 ones are faithful
// copies in ../shared/upstream (see its SOURCES.md); the current ones come
// from the upstream repositories' module zips on the Go module proxy.
const (
	calicoV311   = "calico/v3.11/calico.yaml"
	nginx030     = "ingress-nginx/v0.30.0/deploy/static/mandatory.yaml"
	nginx030LB   = "ingress-nginx/v0.30.0/deploy/static/provider/cloud-generic.yaml"
	denyIngress  = "calico/policy-examples/v3.11/kubernetes-policy-demo-default-deny.yaml"
	denyAll      = "calico/policy-examples/v3.11/kubernetes-networkpolicy-default-deny.yaml"
	denyAllKYAML = "kubernetes-docs/networkpolicy/network-policy-default-deny-all.yaml"
	globalDeny   = "calico/policy-examples/v3.11/globalnetworkpolicy-default-deny.yaml"
)

// Current manifests: module, version, file. The proxy serves Calico's
// repository only as a pseudo-version (its tags are not module versions);
// this commit carries the v3.28.5 manifests.
var (
	calicoCurrent   = moduleRef{"github.com/projectcalico/calico", "v1.11.0-cni-plugin.0.20250813170300-a0db560f0520", "manifests/calico.yaml"}
	nginxCurrent    = moduleRef{"k8s.io/ingress-nginx", "v0.0.0-20240708192948-52c50467d67d", "deploy/static/provider/cloud/deploy.yaml"}
	metallbV0135    = moduleRef{"go.universe.tf/metallb", "v0.13.5", "config/manifests/metallb-native.yaml"}
	metallbV0152    = moduleRef{"go.universe.tf/metallb", "v0.15.2", "config/manifests/metallb-native.yaml"}
	metallbPoolDocs = moduleRef{"go.universe.tf/metallb", "v0.13.5", "configsamples/ipaddresspool_simple.yaml"}
)

type moduleRef struct{ Module, Version, Path string }

func upstream(t testing.TB, rel string) addons.Manifest {
	t.Helper()
	path := filepath.Join(judge.RepoRoot(t), "..", "shared", "upstream", filepath.FromSlash(rel))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: the upstream test data lives in ../shared/upstream", err)
	}
	return addons.Manifest{Source: path, Data: data}
}

// fromProxy downloads a module (cached by the go command) and reads one
// of its files.
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
	path := filepath.Join(info.Dir, filepath.FromSlash(m.Path))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return addons.Manifest{Source: m.Module + "@" + m.Version + "/" + m.Path, Data: data}
}

func decode(t testing.TB, m addons.Manifest) []addons.Object {
	t.Helper()
	objs, err := addons.Decode(m.Source, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func load(t testing.TB, path string) *spec.Cluster {
	t.Helper()
	s, diags := spec.NewLoader().LoadFile(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return s.Cluster
}
