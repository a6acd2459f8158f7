package cli

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/bootstrap/phases"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/provision/state"
)

func newTunnel(env Env) *cobra.Command {
	var f stateFlags
	f.errorsOnly = true // warnings are for validate, plan and up
	var port int
	var out string
	cmd := &cobra.Command{
		Use:   "tunnel FILE",
		Short: "Forward a local port to the API server over SSH, with a kubeconfig for it",
		Long: "tunnel makes the API server reachable from where kprov runs, though the nodes' network\n" +
			"usually is not: it listens on 127.0.0.1:PORT and carries each connection over the\n" +
			"verified SSH connection to the first control plane (its pinned host key, the spec's\n" +
			"bastion, as kprov ssh) to the API server's address as the node sees it. No port but\n" +
			"SSH is opened and no route changed. It writes (0600) a copy of the admin kubeconfig\n" +
			"whose server is https://127.0.0.1:PORT and whose tls-server-name is the API server's\n" +
			"own name, so kubectl still checks the certificate's name. It runs until Ctrl-C; when\n" +
			"SSH drops, the next connection logs in again. PORT is a free one unless --port names it.",
		Example: "  kprov tunnel cluster.hcl\n" +
			"  kprov tunnel cluster.hcl --port 16443 --kubeconfig-out ~/.kube/kprov-tunnel\n" +
			"  kubectl --kubeconfig ~/.kube/kprov-tunnel get nodes",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return tunnelRun(cmd, env, &f, args[0], port, out)
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return nil, cobra.ShellCompDirectiveDefault // the spec file
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		},
	}
	f.register(cmd)
	cmd.Flags().IntVar(&port, "port", 0, "the local port on 127.0.0.1 (default: a free one)")
	cmd.Flags().StringVar(&out, "kubeconfig-out", "", "where the kubeconfig for the tunnel is written (default: kubeconfig-tunnel in the state folder)")
	return cmd
}

func tunnelRun(cmd *cobra.Command, env Env, f *stateFlags, path string, port int, out string) error {
	if port < 0 || port > 65535 {
		return usageError{fmt.Errorf("--port %d is not a TCP port (1-65535)", port)}
	}
	n, cl, closer, err := openNode(env, f, path, "")
	defer closer()
	if err != nil {
		return err
	}
	admin, err := phases.ReadKubeconfig(cl.dir)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("tunnel: %w: choose another --port", err)
	}
	defer l.Close()
	local := l.Addr().String()
	data, api, err := tunnelKubeconfig(admin, local)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(cl.dir, state.KubeconfigFile), err)
	}
	// The whole way once before announcing it: SSH login, host key, and
	// the API server's port as the node sees it.
	ctx := cmd.Context()
	c, err := n.DialContext(ctx, "tcp", api)
	if err != nil {
		return fmt.Errorf("%w (is the API server running? kprov up starts it)", err)
	}
	c.Close()
	if out == "" {
		out = filepath.Join(cl.dir, state.TunnelKubeconfigFile)
	}
	if err := writePrivate(out, data); err != nil {
		return err
	}
	n.Logf("tunnel %s to %s opened", local, api)
	fmt.Fprintf(env.Stderr, "tunnel to %s's API server (%s) on %s; run: kubectl --kubeconfig %s get nodes; Ctrl-C ends it\n",
		n.Name(), api, local, remote.Quote(out))
	err = remote.Forward(ctx, l, n.DialContext, api, func(err error) {
		fmt.Fprintf(env.Stderr, "tunnel: %v (still listening; the next connection logs in again)\n", err)
	})
	n.Logf("tunnel %s closed", local)
	if err != nil {
		return fmt.Errorf("tunnel on %s: %w", local, err)
	}
	fmt.Fprintln(env.Stderr, "tunnel closed")
	return nil
}

// writePrivate writes data to path mode 0600, also when path exists with
// a wider mode (made 0600 before anything is written), making its folder
// (0700) if missing.
func writePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
