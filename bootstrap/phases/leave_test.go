package phases

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"

	"github.com/kprov/kprov/bootstrap/addonsrun"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// A leaving control plane whose address is the API endpoint is refused
// before anything is done, naming it and what to do; nodes of a cluster
// never bootstrapped need nothing.
func TestLeaveRefusesControlPlanes(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	b := &Bootstrapper{o: Options{StateDir: dir, Out: &out}}
	if err := os.WriteFile(filepath.Join(dir, state.KubeconfigFile), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.client = &addonsrun.Client{Config: &rest.Config{Host: "https://10.0.0.2:6443"}}
	err := b.Leave(context.Background(), []Leaver{{Name: "worker-2", Role: spec.RoleWorker}, {Name: "cp-1", Role: spec.RoleControlPlane, IP: netip.MustParseAddr("10.0.0.2")}})
	var cpe *ControlPlaneLeavingError
	if !errors.As(err, &cpe) || cpe.Node != "cp-1" || !strings.Contains(err.Error(), "API endpoint (https://10.0.0.2:6443)") || !strings.Contains(err.Error(), "--keep-nodes") {
		t.Fatalf("want a refusal naming cp-1 and the endpoint, got %v", err)
	}
	if out.Len() != 0 || b.Changes() != 0 {
		t.Errorf("did something before refusing: %q", out.String())
	}
	b.client = nil
	if err := os.Remove(filepath.Join(dir, state.KubeconfigFile)); err != nil {
		t.Fatal(err)
	}
	if err := b.Leave(context.Background(), []Leaver{{Name: "worker-2", Role: spec.RoleWorker}}); err != nil || !strings.Contains(out.String(), "never bootstrapped") {
		t.Errorf("a worker of a cluster without kubeconfig: %v, %q", err, out.String())
	}
	// With a kubeconfig, the API is needed: with no first control plane
	// to reach it through, it fails instead of skipping the drain.
	if err := os.WriteFile(filepath.Join(dir, state.KubeconfigFile), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.Leave(context.Background(), []Leaver{{Name: "worker-2", Role: spec.RoleWorker}}); err == nil {
		t.Error("with a kubeconfig, Leave skipped the drain")
	}
}
