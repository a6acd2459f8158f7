package cli

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

func newSSH(env Env) *cobra.Command {
	var f stateFlags
	f.errorsOnly = true // warnings are for validate, plan and up
	cmd := &cobra.Command{
		Use:   "ssh FILE NODE [-- COMMAND...]",
		Short: "Run a command on a node, or open a shell, as the spec's ssh user",
		Long: "ssh logs in to NODE as the spec's ssh user (through the spec's bastion, if any),\n" +
			"checking the host key kprov gave the node, and runs COMMAND, passing its exit code\n" +
			"through, or opens a login shell (with a terminal when stdin is one). Commands run\n" +
			"as the ssh user, not root: use sudo for root. The command is logged in the state\n" +
			"folder's logs/NODE.log.",
		Example: "  kprov ssh cluster.hcl cp-1\n  kprov ssh cluster.hcl worker-2 -- sudo journalctl -u kubelet -n 50",
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			if len(args) < 2 || dash >= 0 && dash != 2 {
				return usageError{fmt.Errorf("%s takes a spec file and a node name, then optionally -- and a command", cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return sshRun(cmd, env, &f, args[0], args[1], args[2:])
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) != 1 {
				return nil, cobra.ShellCompDirectiveDefault
			}
			return nodeNames(&f.specFlags, env, args[0]), cobra.ShellCompDirectiveNoFileComp
		},
	}
	f.register(cmd)
	return cmd
}

func sshRun(cmd *cobra.Command, env Env, f *stateFlags, path, name string, command []string) error {
	n, _, closer, err := openNode(env, f, path, name)
	defer closer()
	if err != nil {
		return err
	}
	code, err := n.Attach(cmd.Context(), strings.Join(command, " "),
		remote.Stdio{In: env.Stdin, Out: env.Stdout, Err: env.Stderr, Term: env.Lookup("TERM")})
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}

// openNode is the verified SSH connection to the node named name (the
// first control plane when name is "") of an existing cluster (through
// the spec's bastion, if any), as kprov ssh and kprov tunnel use it; it
// connects on first use. closer must be called, also after an error.
func openNode(env Env, f *stateFlags, path, name string) (n *remote.Conn, cl *cluster, closer func(), err error) {
	o, err := openNodes(env, f, path, func(cl *cluster) ([]plan.Node, error) {
		c := cl.spec.Cluster
		if name == "" {
			cp, ok := plan.FirstControlPlane(cl.nodes)
			if !ok {
				return nil, fmt.Errorf("cluster %s has no control-plane node", c.Name)
			}
			name = cp.Name
		}
		node, ok := findNode(cl.nodes, name)
		if !ok {
			return nil, noNode(c.Name, cl.nodes, name)
		}
		return []plan.Node{node}, nil
	})
	if err != nil {
		return nil, o.cl, o.close, err
	}
	return o.nodes[0], o.cl, o.close, nil
}

// opened is an existing cluster and SSH connections to some of its nodes.
type opened struct {
	cl     *cluster
	nodes  []*remote.Conn
	engine *remote.Engine
	close  func()
}

// openNodes opens the cluster of the spec at path, checks that its state
// folder exists, and makes verified SSH connections (made on first use)
// to the nodes pick chooses. close must be called, also after an error.
func openNodes(env Env, f *stateFlags, path string, pick func(*cluster) ([]plan.Node, error)) (o opened, err error) {
	var closers []func()
	o.close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	if o.cl, err = f.prepare(env, path, false); err != nil {
		return o, err
	}
	cl := o.cl
	closers = append(closers, cl.cleanup)
	c := cl.spec.Cluster
	nodes, err := pick(cl)
	if err != nil {
		return o, err
	}
	want := f.stateDir
	if want == "" {
		want = state.DefaultDir(c.Name)
	}
	if cl.dir != want {
		return o, fmt.Errorf("no state folder %s: create the cluster with `kprov up %s` first", want, path)
	}
	cfg, closeAuth, err := remote.ClusterConfig(c, filepath.Dir(path), cl.dir, cl.secrets, env.Lookup("SSH_AUTH_SOCK"))
	closers = append(closers, closeAuth)
	if err != nil {
		return o, err
	}
	cfg.Timeout, cfg.Reconnect = 10*time.Second, 15*time.Second
	cfg.Echo = env.Verbose()
	targets, err := remote.Targets(nodes, cl.secrets)
	if err != nil {
		return o, err
	}
	o.engine = remote.New(cfg)
	closers = append(closers, func() { o.engine.Close() })
	for _, t := range targets {
		n, err := o.engine.Node(t)
		if err != nil {
			return o, err
		}
		o.nodes = append(o.nodes, n)
	}
	return o, nil
}

// noNode says cluster has no node name, listing those it has.
func noNode(cluster string, nodes []plan.Node, name string) error {
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	return usageError{fmt.Errorf("cluster %s has no node %q; its nodes are %s", cluster, name, strings.Join(names, ", "))}
}

func findNode(nodes []plan.Node, name string) (plan.Node, bool) {
	for _, n := range nodes {
		if n.Name == name {
			return n, true
		}
	}
	return plan.Node{}, false
}

// nodeNames are the spec's node names, for completion; nothing when the
// spec does not load (completion prints no diagnostics).
func nodeNames(f *specFlags, env Env, path string) []string {
	l := spec.NewLoader()
	l.Vars, l.VarFiles, l.Env = f.vars, f.varFiles, env.Environ
	s, diags := l.LoadFile(path)
	if diags.HasErrors() {
		return nil
	}
	nodes, err := artifacts.Nodes(s.Cluster)
	if err != nil {
		return nil
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	return names
}
