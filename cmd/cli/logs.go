package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/bootstrap/nodelogs"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/virt"
)

func newLogs(env Env) *cobra.Command {
	var f stateFlags
	f.errorsOnly = true
	var out string
	var nodes []string
	cmd := &cobra.Command{
		Use:   "logs FILE",
		Short: "Gather every node's logs into one folder, secrets redacted",
		Long: "logs gathers from every node (or those --node names) the kubelet and containerd\n" +
			"journals, the boot's and the kernel's journal, the pods' logs (/var/log/pods, static\n" +
			"pods included), `crictl ps -a` and `crictl pods`, cloud-init's logs, kprov's own log\n" +
			"of what it ran there (the state folder's logs/NODE.log) and, for a local hypervisor,\n" +
			"the node's serial console log, into OUT/NODE/. The cluster's secrets are redacted;\n" +
			"files are 0600. A node that cannot be reached gets OUT/NODE/error.txt, the others\n" +
			"are still gathered, and logs exits 1.",
		Example: "  kprov logs cluster.hcl\n  kprov logs cluster.hcl --node worker-2 --out /tmp/worker-2-logs",
		Args:    exactArgs(1, "a spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return logs(cmd.Context(), env, &f, args[0], out, nodes)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&out, "out", "", "folder to write (must not exist or be empty); default ./kprov-logs-CLUSTER-TIME")
	cmd.Flags().StringSliceVar(&nodes, "node", nil, "only these nodes (repeat or comma-separate)")
	cmd.RegisterFlagCompletionFunc("node", func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) != 1 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return nodeNames(&f.specFlags, env, args[0]), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func logs(ctx context.Context, env Env, f *stateFlags, path, out string, names []string) error {
	o, err := openNodes(env, f, path, func(cl *cluster) ([]plan.Node, error) {
		if len(names) == 0 {
			return cl.nodes, nil
		}
		var picked []plan.Node
		for _, name := range names {
			n, ok := findNode(cl.nodes, name)
			if !ok {
				return nil, noNode(cl.spec.Cluster.Name, cl.nodes, name)
			}
			picked = append(picked, n)
		}
		return picked, nil
	})
	defer o.close()
	if err != nil {
		return err
	}
	c := o.cl.spec.Cluster
	if out == "" {
		out = fmt.Sprintf("kprov-logs-%s-%s", c.Name, time.Now().UTC().Format("20060102-150405"))
	}
	if err := emptyFolder(out); err != nil {
		return err
	}
	planned := map[string]plan.Node{}
	for _, n := range o.cl.nodes {
		planned[n.Name] = n
	}
	consoles := local(virt.ResolveURI(c.Hypervisor.URI, env.Lookup("LIBVIRT_DEFAULT_URI")))
	g := nodelogs.Gather{Out: out, Redact: o.engine.Redact, Parallel: 4, Log: env.Stderr,
		NodeLog: func(node string) string { return filepath.Join(o.cl.dir, remote.LogDir, node+".log") },
		Console: func(node string) string {
			if !consoles {
				return ""
			}
			return plan.ConsoleLog(plan.Host{}, planned[node])
		},
	}
	nodes := make([]remote.Node, len(o.nodes))
	for i, n := range o.nodes {
		nodes[i] = n
	}
	failed := g.Run(ctx, nodes)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Fprintf(env.Stdout, "%s\n", out)
	if len(failed) > 0 {
		return fmt.Errorf("could not gather the logs of %s (see error.txt in their folders); the other nodes' are in %s", strings.Join(failed, ", "), out)
	}
	return nil
}

// emptyFolder makes dir (0700), refusing one that holds anything: a
// second run never mixes with or overwrites the first.
func emptyFolder(dir string) error {
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) > 0 {
		return usageError{fmt.Errorf("%s is not empty: name another folder with --out", dir)}
	}
	return os.MkdirAll(dir, 0o700)
}
