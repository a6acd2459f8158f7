package binaries

import (
	"testing"

	"github.com/kprov/kprov/provision/spec"
)

func loadSpec(t testing.TB, path string, vars ...string) *spec.Cluster {
	t.Helper()
	l := spec.NewLoader()
	l.Vars = vars
	s, diags := l.LoadFile(path)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags)
	}
	return s.Cluster
}

func loadLab(t testing.TB) *spec.Cluster { return loadSpec(t, "testdata/lab121.hcl") }
