package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/bootstrap/etcd"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

func newBackup(env Env) *cobra.Command {
	var f stateFlags
	var out, node string
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Take an etcd snapshot of the cluster into a folder",
		Long: "backup takes a snapshot of etcd on the first control plane that answers (or --node)\n" +
			"with etcd's own etcdctl, inside the node's etcd container, and fetches it into OUT:\n" +
			"etcd.db and backup.json (the cluster, the node, the time, Kubernetes' version, etcd's\n" +
			"image, revision, hash, key count, members, the snapshot's size and sha256, and the\n" +
			"cluster CA's sha256, which restore checks). The folder is 0700, its files 0600: a\n" +
			"snapshot holds every Secret of the cluster. Prints the folder.",
		Example: "  kprov backup cluster.hcl\n  kprov backup cluster.hcl --out /srv/backups/prod-$(date +%F)",
		Args:    exactArgs(1, "a spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return backup(cmd.Context(), env, &f, args[0], out, node)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "folder to write (must not hold a backup); default STATE/backups/TIME")
	cmd.Flags().StringVar(&node, "node", "", "the control plane to take it on; default the first that answers")
	return cmd
}

// controlPlanes picks the spec's control planes, or only the one named.
func controlPlanes(name string) func(*cluster) ([]plan.Node, error) {
	return func(cl *cluster) ([]plan.Node, error) {
		var cps []plan.Node
		for _, n := range cl.nodes {
			if n.Role == spec.RoleControlPlane && (name == "" || n.Name == name) {
				cps = append(cps, n)
			}
		}
		if name != "" && len(cps) == 0 {
			if _, ok := findNode(cl.nodes, name); ok {
				return nil, usageError{fmt.Errorf("%s is not a control plane: etcd runs only on control planes", name)}
			}
			return nil, noNode(cl.spec.Cluster.Name, cl.nodes, name)
		}
		return cps, nil
	}
}

func backup(ctx context.Context, env Env, f *stateFlags, path, out, node string) error {
	o, err := openNodes(env, f, path, controlPlanes(node))
	defer o.close()
	if err != nil {
		return err
	}
	c := o.cl.spec.Cluster
	now := time.Now().UTC()
	if out == "" {
		out = filepath.Join(o.cl.dir, "backups", now.Format("20060102-150405Z"))
	}
	start := time.Now()
	var tried []error
	for _, n := range o.nodes {
		m, snap, err := etcd.Save(ctx, n)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			tried = append(tried, err)
			continue
		}
		m.Cluster, m.TakenAt, m.KubernetesVersion = c.Name, now, c.KubernetesVersion
		m.CASHA256 = etcd.Sum(o.cl.secrets.CACert)
		if err := etcd.Write(out, snap, m); err != nil {
			return err
		}
		fmt.Fprintf(env.Stderr, "%s: etcd snapshot at revision %d, %d keys, %.1f MiB, sha256 %s, in %s\n",
			n.Name(), m.Revision, m.Keys, float64(len(snap))/(1<<20), etcd.Sum(snap)[:16], time.Since(start).Round(100*time.Millisecond))
		fmt.Fprintln(env.Stdout, out)
		return nil
	}
	return fmt.Errorf("no control plane could take the backup:\n%w", errors.Join(tried...))
}

func newRestore(env Env) *cobra.Command {
	var f stateFlags
	var yes bool
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "restore FILE BACKUP",
		Short: "Bring the cluster's etcd back to a backup",
		Long: "restore brings every control plane's etcd back to the snapshot in BACKUP (a folder\n" +
			"kprov backup wrote), as Kubernetes documents it for kubeadm's stacked etcd: it checks\n" +
			"the snapshot's sha256 and that the backup is of this cluster (its name and CA), stops\n" +
			"etcd, kube-apiserver, kube-controller-manager and kube-scheduler on every control plane,\n" +
			"restores each member's data from the same snapshot with etcd's own tool (the etcd\n" +
			"image's etcdutl, run by ctr), starts them, waits for every API server to be ready, and\n" +
			"restarts every kubelet. etcd's data from before is moved, not removed, to\n" +
			"/var/lib/kprov/restore/before on each control plane. Every control plane must answer.\n" +
			"Everything written to the cluster after the backup is lost: --yes says you mean it.\n" +
			"A restore cut short is finished by running it again with the same backup.",
		Example: "  kprov restore cluster.hcl ~/.local/state/kprov/prod/backups/20261130-120000Z --yes",
		Args:    exactArgs(2, "a spec file and a backup folder"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return restore(cmd.Context(), env, &f, args[0], args[1], yes, wait)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&yes, "yes", false, "restore: the cluster loses everything written since the backup")
	cmd.Flags().DurationVar(&wait, "wait", 10*time.Minute, "how long to wait on each node for the old pods to stop and the API server to be ready")
	return cmd
}

func restore(ctx context.Context, env Env, f *stateFlags, path, dir string, yes bool, wait time.Duration) error {
	m, snap, err := etcd.Load(dir)
	if err != nil {
		return err
	}
	o, err := openNodes(env, f, path, func(cl *cluster) ([]plan.Node, error) { return cl.nodes, nil })
	defer o.close()
	if err != nil {
		return err
	}
	c := o.cl.spec.Cluster
	if m.Cluster != c.Name {
		return fmt.Errorf("%s is a backup of cluster %s, not of %s", dir, m.Cluster, c.Name)
	}
	if ca := etcd.Sum(o.cl.secrets.CACert); m.CASHA256 != ca {
		return fmt.Errorf("%s was taken under another cluster CA (sha256 %s) than %s's (%s): its service account tokens and certificates would not be valid here", dir, m.CASHA256, c.Name, ca)
	}
	if m.KubernetesVersion != c.KubernetesVersion {
		fmt.Fprintf(env.Stderr, "WARNING: the backup was taken on Kubernetes %s, the spec says %s\n", m.KubernetesVersion, c.KubernetesVersion)
	}
	var cps, others []remote.Node
	for i, n := range o.cl.nodes {
		if n.Role == spec.RoleControlPlane {
			cps = append(cps, o.nodes[i])
		} else {
			others = append(others, o.nodes[i])
		}
	}
	if !yes {
		return usageError{fmt.Errorf("restore replaces etcd's data on %s with the snapshot taken on %s at %s (revision %d): everything written since is lost; add --yes to go on",
			nodeList(cps), m.Node, m.TakenAt.Format(time.RFC3339), m.Revision)}
	}
	start := time.Now()
	r := etcd.Restore{Meta: m, Snapshot: snap, Log: env.Stderr, Wait: wait}
	if err := r.Run(ctx, cps, others); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "etcd restored to revision %d (taken on %s at %s) in %s; etcd's data from before is in %s/before on each control plane\n",
		m.Revision, m.Node, m.TakenAt.Format(time.RFC3339), time.Since(start).Round(time.Second), etcd.RestoreDir)
	return nil
}

func nodeList(nodes []remote.Node) string {
	s := make([]string, len(nodes))
	for i, n := range nodes {
		s[i] = n.Name()
	}
	return strings.Join(s, ", ")
}
