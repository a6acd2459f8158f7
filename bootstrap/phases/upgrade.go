package phases

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kprov/kprov/bootstrap/addonsrun"
	"github.com/kprov/kprov/bootstrap/binaries"
	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/bootstrap/kubeadmrun"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/retry"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// restartKubelet makes systemd run the kubelet just installed.
const restartKubelet = "systemctl daemon-reload && systemctl restart kubelet.service"

// upgrade brings a running cluster to the spec's Kubernetes version in
// place, as kubeadm's upgrade documentation orders it: one minor version
// at a time (a bigger jump or a downgrade is refused before anything is
// done); the first control plane runs `kubeadm upgrade apply`, the other
// control planes `kubeadm upgrade node`; then, one node at a time, control
// planes first, each node is drained, gets the new kubelet and kubectl
// (pinned sums, as bootstrap/binaries installs them), and is uncordoned
// once its kubelet reports the new version (and Ready, if it was).
// Workers run `kubeadm upgrade node` before their drain. Every step looks
// first, so an interrupted upgrade is finished by running up again.
// Nodes that have not joined yet are kubeadm/join's.
func (b *Bootstrapper) upgrade(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(b.o.StateDir, state.KubeconfigFile)); os.IsNotExist(err) {
		return nil // no cluster yet: kubeadm/init makes it at the spec's version
	}
	client, err := b.API()
	if err != nil {
		return err
	}
	c := b.o.Cluster
	have, err := client.ClusterVersion(ctx)
	if err != nil {
		return err
	}
	u, err := kubeadm.PlanUpgrade(have, c.Kubernetes().String())
	if err != nil {
		return err
	}
	first, err := b.first()
	if err != nil {
		return err
	}
	order := b.upgradeOrder()
	if u.None() && b.current(ctx) {
		return nil
	}
	if !u.None() {
		b.logf("upgrade %s -> %s (%s): %d nodes, one at a time", u.From, u.To, u.Kind(), len(order))
	}
	for _, pn := range order {
		n := b.nodes[pn.Name]
		var info addonsrun.NodeInfo
		var joined bool
		// The API server may still be settling after the node before.
		err := retry.Do(ctx, retry.Every(5*time.Second), 24, func(ctx context.Context) error {
			var e error
			info, joined, e = client.Node(ctx, pn.Name)
			return e
		})
		if err != nil {
			return retry.Last(err)
		}
		if !joined {
			continue
		}
		err = b.upgradeNode(ctx, client, n, pn, info, n == first, u)
		b.recordVersions(ctx)
		if err != nil {
			return fmt.Errorf("upgrade node %s to %s: %w\nrun kprov up again to go on from here", pn.Name, u.To, err)
		}
	}
	return nil
}

// recordVersions writes the versions the cluster reports into the state
// folder, for plan. It is a record only: failing to write it is said, not
// an error.
func (b *Bootstrapper) recordVersions(ctx context.Context) {
	client, err := b.API()
	var v state.Versions
	if err == nil {
		v.Cluster, err = client.ClusterVersion(ctx)
	}
	var nodes map[string]addonsrun.NodeInfo
	if err == nil {
		nodes, err = client.Nodes(ctx)
	}
	for name, n := range nodes {
		if v.Nodes == nil {
			v.Nodes = map[string]string{}
		}
		v.Nodes[name] = n.KubeletVersion
	}
	if err == nil {
		err = state.WriteVersions(b.o.StateDir, v)
	}
	if err != nil && ctx.Err() == nil {
		b.logf("warning: could not record the cluster's versions for plan: %v", err)
	}
}

// current says whether every node's kubelet is at the spec's version
// and none is left marked by an upgrade cut short; it records the
// versions seen.
func (b *Bootstrapper) current(ctx context.Context) bool {
	client, err := b.API()
	if err != nil {
		return false
	}
	nodes, err := client.Nodes(ctx)
	if err != nil {
		return false
	}
	for _, n := range nodes {
		if n.KubeletVersion != b.o.Cluster.Kubernetes().String() || n.UpgradingTo != "" {
			return false
		}
	}
	b.recordVersions(ctx)
	return true
}

// checkUpgrade refuses, before any node is touched, a kubernetes_version
// the cluster cannot be upgraded to from the version up last recorded
// (the state folder's versions.json); kubeadm/upgrade checks the live
// cluster again.
func (b *Bootstrapper) checkUpgrade() error {
	v, err := state.ReadVersions(b.o.StateDir)
	if err != nil || v.Cluster == "" {
		return err
	}
	_, err = kubeadm.PlanUpgrade(v.Cluster, b.o.Cluster.Kubernetes().String())
	return err
}

// upgradeOrder is the planned nodes, the first control plane first, then
// the other control planes, then the workers.
func (b *Bootstrapper) upgradeOrder() []plan.Node {
	var cps, workers []plan.Node
	firstCP, _ := plan.FirstControlPlane(b.o.Nodes)
	for _, n := range b.o.Nodes {
		switch {
		case n.Name == firstCP.Name:
		case n.Role == spec.RoleControlPlane:
			cps = append(cps, n)
		default:
			workers = append(workers, n)
		}
	}
	return append(append([]plan.Node{firstCP}, cps...), workers...)
}

// upgradeNode upgrades one joined node; each step looks first.
func (b *Bootstrapper) upgradeNode(ctx context.Context, client *addonsrun.Client, n *remote.Conn, pn plan.Node, info addonsrun.NodeInfo, first bool, u kubeadm.Upgrade) error {
	c := b.o.Cluster
	patches := c.Kubeadm.Patches
	switch {
	case pn.Role == spec.RoleControlPlane:
		v, err := kubeadmrun.ControlPlaneVersion(ctx, n)
		if err != nil {
			return err
		}
		if v == u.To {
			break
		}
		args := kubeadm.UpgradeNodeArgs(c)
		if first {
			args = kubeadm.UpgradeApplyArgs(c, !info.Ready)
			if !info.Ready {
				b.logf("warning: %s is not Ready (no pod network yet?): kubeadm upgrade apply skips its %s health checks",
					n.Name(), strings.Join(kubeadm.NotReadyChecks, " and "))
			}
			etcdTag, dnsTag, err := images.Tags(c)
			if err != nil {
				return err
			}
			did, kept, err := client.SetImageTags(ctx, etcdTag, dnsTag)
			if err != nil {
				return err
			}
			if kept != "" {
				b.logf("etcd stays at %s: kprov's tag for %s, %s, is older, and kubeadm does not downgrade etcd", kept, u.To, etcdTag)
				etcdTag = kept
			}
			if did {
				b.changed(1, "kubeadm-config: etcd %s and CoreDNS %s for %s", etcdTag, dnsTag, u.To)
			}
		}
		start := time.Now()
		if _, err := kubeadmrun.Upgrade(ctx, n, args, patches); err != nil {
			return err
		}
		b.changed(1, "%s: kubeadm %s %s: control plane %s -> %s (%s)", n.Name(), args[0], args[1], v, u.To, since(start))
		if first {
			// upgrade apply renewed the certificates, admin.conf's too.
			if err := b.kubeconfig(ctx); err != nil {
				return err
			}
		}
	case info.KubeletVersion != u.To:
		start := time.Now()
		if _, err := kubeadmrun.Upgrade(ctx, n, kubeadm.UpgradeNodeArgs(c), patches); err != nil {
			return err
		}
		b.changed(1, "%s: kubeadm upgrade node: kubelet configuration of %s (%s)", n.Name(), u.To, since(start))
	}
	if info.KubeletVersion == u.To && info.UpgradingTo == "" {
		return nil
	}
	start := time.Now()
	if info.KubeletVersion != u.To {
		if err := client.Drain(ctx, pn.Name, u.To, c.RolloutTimeout(), logWriter{b, pn.Name}); err != nil {
			return err
		}
		b.changed(1, "%s: drained", pn.Name)
		if err := b.installKubelet(ctx, n); err != nil {
			return err
		}
		b.changed(1, "%s: kubelet and kubectl %s installed, kubelet restarted", pn.Name, u.To)
	}
	// A node that was not Ready before (no pod network yet) is not
	// waited for to become Ready.
	if err := client.WaitKubelet(ctx, pn.Name, u.To, info.Ready, c.NodesReadyTimeout()); err != nil {
		return err
	}
	if did, err := client.Uncordon(ctx, pn.Name); err != nil {
		return err
	} else if did {
		b.changed(1, "%s: uncordoned: kubelet %s (node upgraded in %s)", pn.Name, u.To, since(start))
	}
	return nil
}

// installKubelet installs the spec's kubelet and kubectl on n and restarts
// the kubelet.
func (b *Bootstrapper) installKubelet(ctx context.Context, n *remote.Conn) error {
	cmds, err := b.installCommands(ctx)
	if err != nil {
		return err
	}
	for i, src := range binaries.Sources(b.o.Cluster) {
		if !upgradedLater(src.Name) {
			continue
		}
		if _, err := n.Run(ctx, cmds[i]); err != nil {
			return err
		}
	}
	_, err = n.Run(ctx, restartKubelet)
	return err
}

// since is the time from start, rounded for a log line.
func since(start time.Time) time.Duration { return time.Since(start).Round(time.Second) }
