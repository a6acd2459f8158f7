package phases

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// The version up recorded refuses a jump kubeadm cannot make before any
// node is touched; nothing recorded (a new cluster) passes.
func TestCheckUpgrade(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	b := &Bootstrapper{o: Options{StateDir: dir, Cluster: &spec.Cluster{KubernetesVersion: "1.31.0"}}}
	if err := b.checkUpgrade(); err != nil {
		t.Fatalf("nothing recorded: %v", err)
	}
	if err := state.WriteVersions(dir, state.Versions{Cluster: "v1.29.15"}); err != nil {
		t.Fatal(err)
	}
	var skew *kubeadm.SkewError
	if err := b.checkUpgrade(); !errors.As(err, &skew) {
		t.Errorf("1.29.15 -> 1.31.0: %v, want a SkewError", err)
	}
	b.o.Cluster.KubernetesVersion = "1.30.4"
	if err := b.checkUpgrade(); err != nil {
		t.Errorf("1.29.15 -> 1.30.4: %v", err)
	}
	b.o.Cluster.KubernetesVersion = "1.29.10"
	var down *kubeadm.DowngradeError
	if err := b.checkUpgrade(); !errors.As(err, &down) {
		t.Errorf("1.29.15 -> 1.29.10: %v, want a DowngradeError", err)
	}
}

// Upgrades go control planes first, the first one before all.
func TestUpgradeOrder(t *testing.T) {
	b := &Bootstrapper{o: Options{Nodes: nil}}
	for _, n := range []struct{ name, role string }{{"worker-1", spec.RoleWorker}, {"cp-1", spec.RoleControlPlane}, {"worker-2", spec.RoleWorker}, {"cp-2", spec.RoleControlPlane}} {
		b.o.Nodes = append(b.o.Nodes, planNode(n.name, n.role))
	}
	var got []string
	for _, n := range b.upgradeOrder() {
		got = append(got, n.Name)
	}
	if want := "cp-1 cp-2 worker-1 worker-2"; joinNames(got) != want {
		t.Errorf("order %v, want %s", got, want)
	}
}

func planNode(name, role string) plan.Node { return plan.Node{Name: name, Role: role} }

func joinNames(names []string) string { return strings.Join(names, " ") }
