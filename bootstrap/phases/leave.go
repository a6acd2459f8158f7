package phases

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/kprov/kprov/bootstrap/etcd"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// Leaver is a node the spec no longer plans, whose VM still runs; IP is
// its address (invalid when unknown).
type Leaver struct {
	Name, Role string
	IP         netip.Addr
}

// ControlPlaneLeavingError refuses to remove a control plane whose address
// is the cluster's API endpoint: every kubelet and kubeconfig reaches the
// API server there.
type ControlPlaneLeavingError struct {
	Node     string
	Endpoint string
}

func (e *ControlPlaneLeavingError) Error() string {
	return fmt.Sprintf("the spec no longer plans control plane %s, but its address is the cluster's API endpoint (%s), "+
		"which every kubelet and kubeconfig uses: removing it would cut them off. Put it back in the spec, "+
		"or run up with --keep-nodes", e.Node, e.Endpoint)
}

// Leave takes leaving nodes out of the cluster before their VMs go: each
// is drained and its Node object deleted; a control plane's etcd member
// is then removed, one at a time, each only while etcd keeps a healthy
// majority without it. A cluster that was never bootstrapped (no admin
// kubeconfig in the state folder) has nothing to drain.
func (b *Bootstrapper) Leave(ctx context.Context, nodes []Leaver) error {
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
	// Checked for every node before anything is done.
	for _, n := range nodes {
		if n.Role != spec.RoleControlPlane {
			continue
		}
		if u, err := url.Parse(client.Config.Host); err == nil && n.IP.IsValid() && u.Hostname() == n.IP.String() {
			return &ControlPlaneLeavingError{Node: n.Name, Endpoint: client.Config.Host}
		}
		if err := b.leaveEtcd(ctx, n.Name, true); err != nil {
			return err
		}
	}
	for _, n := range nodes {
		was, err := client.Leave(ctx, n.Name, b.o.Cluster.RolloutTimeout(), logWriter{b, n.Name})
		if err != nil {
			return err
		}
		if was {
			b.changed(1, "%s: drained and deleted from the cluster", n.Name)
		}
		if n.Role == spec.RoleControlPlane {
			if err := b.leaveEtcd(ctx, n.Name, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// leaveEtcd removes node's etcd member, asked of a planned control plane,
// after checking that etcd keeps a healthy majority (only checking, with
// dryRun). A member already gone is nothing to do.
func (b *Bootstrapper) leaveEtcd(ctx context.Context, node string, dryRun bool) error {
	cps := b.controlPlanes()
	if len(cps) == 0 {
		return fmt.Errorf("no control plane left in the spec to remove %s's etcd member from", node)
	}
	members, err := etcd.Members(ctx, cps[0])
	if err != nil {
		return err
	}
	m, ok, err := etcd.CheckRemoval(members, node)
	if err != nil || !ok || dryRun {
		return err
	}
	if err := etcd.RemoveMember(ctx, cps[0], m.ID); err != nil {
		return fmt.Errorf("remove %s's etcd member: %w", node, err)
	}
	b.changed(1, "%s: etcd member %x removed (%d left)", node, m.ID, len(members)-1)
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
