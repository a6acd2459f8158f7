package addonsrun_test

import (
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/spec"
)

// Test inputs: the early-2020 manifests are faithful copies in
// ../shared/upstream; current ones come from upstream module zips on the
// Go module proxy (judge.Upstream, judge.FromProxy).
var (
	calicoCurrent = judge.CalicoCurrent
	nginxCurrent  = judge.NginxCurrent
	metallbV0135  = judge.MetalLBV0135
	metallbV0152  = judge.MetalLBV0152
)

func upstream(t testing.TB, rel string) addons.Manifest {
	t.Helper()
	path, data := judge.Upstream(t, rel)
	return addons.Manifest{Source: path, Data: data}
}

func fromProxy(t testing.TB, m judge.Module) addons.Manifest {
	t.Helper()
	source, data := judge.FromProxy(t, m)
	return addons.Manifest{Source: source, Data: data}
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
