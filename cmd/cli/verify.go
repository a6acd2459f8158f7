package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/bootstrap/verify"
	"github.com/kprov/kprov/provision/state"
)

func newVerify(env Env) *cobra.Command {
	var f stateFlags
	var skipNodes bool
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check on the live cluster that the spec's networking is in force",
		Long: "verify reads the cluster through its API server (tunnelled over SSH to the first\n" +
			"control plane) and, over SSH, its nodes, and prints one line per check: calico-node's\n" +
			"autodetection, encapsulation and pool, the pod MTU and the nodes' eth0 MTU, kube-proxy's\n" +
			"mode (and ipvsadm on each node), the ingress Service's type, traffic policy and\n" +
			"addresses, and the default-deny policies. It exits 1 when a check fails.",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := f.prepare(env, args[0], false)
			if err != nil {
				return err
			}
			defer cl.cleanup()
			c := cl.spec.Cluster
			want := f.stateDir
			if want == "" {
				want = state.DefaultDir(c.Name)
			}
			if cl.dir != want {
				return fmt.Errorf("no state folder %s: create the cluster with `kprov up %s` first", want, args[0])
			}
			b, err := newBootstrapper(env, cl, args[0], 8)
			if err != nil {
				return err
			}
			defer b.closer()
			client, err := b.api()
			if err != nil {
				return err
			}
			e := verify.Expect(c)
			checks := verify.Cluster(cmd.Context(), client.Dynamic, e)
			if !skipNodes {
				var nodes []verify.Runner
				for _, n := range b.all {
					nodes = append(nodes, n)
				}
				checks = append(checks, verify.Nodes(cmd.Context(), nodes, e)...)
			}
			if failed := verify.Print(env.Stdout, checks); failed > 0 {
				return fmt.Errorf("%d of %d checks failed", failed, len(checks))
			}
			fmt.Fprintf(env.Stderr, "all %d checks passed\n", len(checks))
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&skipNodes, "skip-nodes", false, "check through the API server only, not over SSH on each node")
	return cmd
}
