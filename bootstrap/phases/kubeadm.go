package phases

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/kprov/kprov/bootstrap/kubeadmrun"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

func (b *Bootstrapper) first() (*remote.Conn, error) {
	n, ok := plan.FirstControlPlane(b.o.Nodes)
	if !ok {
		return nil, fmt.Errorf("no control-plane node")
	}
	return b.nodes[n.Name], nil
}

// init runs kubeadm init on the first control plane with kprov's CA.
func (b *Bootstrapper) init(ctx context.Context) error {
	cp, err := b.first()
	if err != nil {
		return err
	}
	cfgs, err := artifacts.KubeadmConfigs(b.o.Cluster, b.o.Nodes, b.o.Secrets)
	if err != nil {
		return err
	}
	cfg := cfgs[cp.Name()]
	// Before the CA goes in: kubeadm reset removes /etc/kubernetes/pki.
	if undone, err := kubeadmrun.Leftovers(ctx, cp, kubeadmrun.InitDone); err != nil {
		return err
	} else if undone {
		b.changed(1, "%s: kubeadm reset -f: undid an unfinished kubeadm init", cp.Name())
	}
	if placed, err := kubeadmrun.PlaceCA(ctx, cp, b.o.Secrets); err != nil {
		return err
	} else if placed {
		b.changed(1, "%s: cluster CA placed", cp.Name())
	}
	if err := b.vipBeforeInit(ctx, cp); err != nil {
		return err
	}
	did, err := kubeadmrun.Init(ctx, cp, cfg, b.o.Cluster.Kubeadm.Patches)
	if did {
		b.changed(1, "%s: kubeadm init done", cp.Name())
	}
	if err != nil {
		return err
	}
	return b.vipPod(ctx, cp)
}

// kubeconfig fetches the admin kubeconfig into the state folder (0600).
func (b *Bootstrapper) kubeconfig(ctx context.Context) error {
	cp, err := b.first()
	if err != nil {
		return err
	}
	data, err := cp.Download(ctx, kubeadmrun.AdminConf)
	if err != nil {
		return err
	}
	if err := b.checkEndpoint(data); err != nil {
		return err
	}
	path := filepath.Join(b.o.StateDir, state.KubeconfigFile)
	if have, err := os.ReadFile(path); err == nil && string(have) == string(data) {
		return nil
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	b.changed(1, "admin kubeconfig saved to %s (kprov kubeconfig prints or merges it)", path)
	return nil
}

// joinTries is how often a worker's join is tried when the API server is
// too busy to answer it.
const joinTries = 3

// join joins the other control planes one at a time (etcd grows one
// member at a time), then every worker at once.
func (b *Bootstrapper) join(ctx context.Context) error {
	cp, err := b.first()
	if err != nil {
		return err
	}
	if made, err := kubeadmrun.EnsureToken(ctx, cp, b.o.Secrets.BootstrapToken); err != nil {
		return err
	} else if made {
		b.changed(1, "%s: bootstrap token re-created (the old one expired)", cp.Name())
	}
	// Planned before any join runs: kubeadm's scheme is not safe for
	// concurrent use. The same bytes render writes.
	cfgs, err := artifacts.KubeadmConfigs(b.o.Cluster, b.o.Nodes, b.o.Secrets)
	if err != nil {
		return err
	}
	var joined atomic.Bool
	joinOne := func(ctx context.Context, n *remote.Conn) error {
		pn := b.planned(n.Name())
		if undone, err := kubeadmrun.Leftovers(ctx, n, kubeadmrun.JoinDone); err != nil {
			return err
		} else if undone {
			b.changed(1, "%s: kubeadm reset -f: undid an unfinished kubeadm join", n.Name())
		}
		did, err := kubeadmrun.Join(ctx, n, cfgs[n.Name()], b.o.Cluster.Kubeadm.Patches)
		// A worker's join that failed on a busy API server (seen under
		// emulation) is undone and tried again, twice at most.
		for try := 2; err != nil && pn.Role != spec.RoleControlPlane && try <= joinTries; try++ {
			slow, sign := kubeadmrun.Slow(err)
			if !slow {
				break
			}
			b.changed(1, "%s: kubeadm join failed on a busy API server (%s): reset, then try %d of %d", n.Name(), sign, try, joinTries)
			if ferr := kubeadmrun.Forget(ctx, n, cp, n.Name()); ferr != nil {
				return fmt.Errorf("%w\n(and undoing it for another try failed: %v)", err, ferr)
			}
			did, err = kubeadmrun.Join(ctx, n, cfgs[n.Name()], b.o.Cluster.Kubeadm.Patches)
		}
		if did {
			b.changed(1, "%s: joined as %s", n.Name(), pn.Role)
			joined.Store(true)
		}
		if err == nil && pn.Role == spec.RoleControlPlane {
			err = b.vipPod(ctx, n)
		}
		return err
	}
	var workers []*remote.Conn
	for _, pn := range b.o.Nodes {
		n := b.nodes[pn.Name]
		switch {
		case n == cp:
		case pn.Role == spec.RoleControlPlane:
			if err := joinOne(ctx, n); err != nil {
				if joined.Load() {
					b.recordVersions(ctx)
				}
				return err
			}
		default:
			workers = append(workers, n)
		}
	}
	err = remote.Each(ctx, workers, b.o.Parallel, joinOne)
	if joined.Load() {
		b.recordVersions(ctx)
	}
	return err
}

func (b *Bootstrapper) planned(name string) plan.Node {
	for _, n := range b.o.Nodes {
		if n.Name == name {
			return n
		}
	}
	return plan.Node{}
}
