package phases

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// Leaver is a node the spec no longer plans, whose VM still runs.
type Leaver struct{ Name, Role string }

// ControlPlaneLeavingError refuses to remove control planes: each holds an
// etcd member, which must leave etcd first, one at a time with the others
// healthy, and kprov does not do that yet.
type ControlPlaneLeavingError struct{ Nodes []string }

func (e *ControlPlaneLeavingError) Error() string {
	return fmt.Sprintf("the spec no longer plans control plane %s: kprov does not remove control planes yet "+
		"(each holds an etcd member that must leave etcd first without losing quorum). "+
		"Put the control-plane count back, or run up with --keep-nodes; to remove one by hand, "+
		"`kubeadm reset` on it (it leaves etcd), `kubectl delete node`, then lower the count",
		strings.Join(e.Nodes, ", "))
}

// Leave takes leaving workers out of the cluster before their VMs go:
// each is drained and its Node object deleted. Control planes are refused
// before anything is done. A cluster that was never bootstrapped (no admin
// kubeconfig in the state folder) has nothing to drain.
func (b *Bootstrapper) Leave(ctx context.Context, nodes []Leaver) error {
	var cps []string
	for _, n := range nodes {
		if n.Role == spec.RoleControlPlane {
			cps = append(cps, n.Name)
		}
	}
	if len(cps) > 0 {
		return &ControlPlaneLeavingError{Nodes: cps}
	}
	if len(nodes) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(b.o.StateDir, state.KubeconfigFile)); os.IsNotExist(err) {
		b.logf("no admin kubeconfig: the cluster was never bootstrapped, nothing to drain")
		return nil
	}
	client, err := b.API()
	if err != nil {
		return err
	}
	for _, n := range nodes {
		was, err := client.Leave(ctx, n.Name, b.o.Cluster.RolloutTimeout(), logWriter{b, n.Name})
		if err != nil {
			return err
		}
		if was {
			b.changed(1, "%s: drained and deleted from the cluster", n.Name)
		}
	}
	return nil
}

// logWriter passes drain's lines to the bootstrapper's log, under node.
type logWriter struct {
	b    *Bootstrapper
	node string
}

func (w logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if line != "" {
			w.b.logf("%s: %s", w.node, line)
		}
	}
	return len(p), nil
}
