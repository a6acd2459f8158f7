package addons_test

import (
	"testing"

	"github.com/kprov/kprov/provision/spec"
)

// release parses a Kubernetes release of the tests.
func release(t testing.TB, s string) spec.Version {
	t.Helper()
	v, err := spec.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
