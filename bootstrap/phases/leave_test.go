package phases

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// A leaving control plane is refused before anything is done, naming it
// and what to do; workers of a cluster never bootstrapped need nothing.
func TestLeaveRefusesControlPlanes(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	b := &Bootstrapper{o: Options{StateDir: dir, Out: &out}}
	err := b.Leave(context.Background(), []Leaver{{Name: "worker-2", Role: spec.RoleWorker}, {Name: "cp-3", Role: spec.RoleControlPlane}})
	var cpe *ControlPlaneLeavingError
	if !errors.As(err, &cpe) || strings.Join(cpe.Nodes, ",") != "cp-3" || !strings.Contains(err.Error(), "--keep-nodes") {
		t.Fatalf("want a refusal naming cp-3, got %v", err)
	}
	if out.Len() != 0 || b.Changes() != 0 {
		t.Errorf("did something before refusing: %q", out.String())
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
