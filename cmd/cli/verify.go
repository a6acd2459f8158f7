package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kprov/kprov/bootstrap/verify"
	"github.com/kprov/kprov/provision/state"
)

func newVerify(env Env) *cobra.Command {
	var f stateFlags
	f.errorsOnly = true // warnings are for validate, plan and up
	var skipNodes, probe bool
	var probeTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "verify FILE",
		Short: "Check on the live cluster that the spec's networking is in force",
		Long: "verify reads the cluster through its API server (tunnelled over SSH to the first\n" +
			"control plane) and, over SSH, its nodes, and prints one line per check: calico-node's\n" +
			"autodetection, encapsulation and pool, the pod MTU and the nodes' eth0 MTU, kube-proxy's\n" +
			"mode (and ipvsadm on each node), the ingress Service's type, traffic policy and\n" +
			"addresses, and the default-deny policies. It exits 1 when a check fails.\n\n" +
			"--probe then proves the networking with packets: short-lived pods in a namespace\n" +
			"kprov-probe-XXXXX (image " + verify.ProbeImage + ") check the pod MTU,\n" +
			"pod to pod across two nodes, a Service through kube-proxy, DNS, that a default-deny\n" +
			"namespace drops traffic but allows DNS, and, from this machine, that the ingress\n" +
			"controller sees the client's address. The pods are deleted afterwards, also on Ctrl-C.\n" +
			"A check that cannot run here prints skip; skips do not fail verify.",
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
			b, err := newBootstrapper(env, cl, args[0], 8, false, nil)
			if err != nil {
				return err
			}
			defer b.Close()
			client, err := b.API()
			if err != nil {
				return err
			}
			e := verify.Expect(c)
			checks := verify.Cluster(cmd.Context(), client.Dynamic, e)
			if !skipNodes {
				var nodes []verify.Runner
				for _, n := range b.Nodes() {
					nodes = append(nodes, n)
				}
				checks = append(checks, verify.Nodes(cmd.Context(), nodes, e)...)
			}
			if probe {
				checks = append(checks, runProbe(cmd, env, client.Config, verify.ProbeOf(c, probeTimeout))...)
			}
			if failed := verify.Print(env.Stdout, checks); failed > 0 {
				return fmt.Errorf("%d of %d checks failed", failed, len(checks))
			}
			skipped := 0
			for _, ch := range checks {
				if ch.Skipped {
					skipped++
				}
			}
			if skipped > 0 {
				fmt.Fprintf(env.Stderr, "%d checks passed, %d skipped\n", len(checks)-skipped, skipped)
				return nil
			}
			fmt.Fprintf(env.Stderr, "all %d checks passed\n", len(checks))
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&skipNodes, "skip-nodes", false, "check through the API server only, not over SSH on each node")
	cmd.Flags().BoolVar(&probe, "probe", false, "also prove the networking with packets from short-lived pods")
	cmd.Flags().DurationVar(&probeTimeout, "probe-timeout", verify.DefaultProbeTimeout, "how long --probe waits for its pods and their checks")
	return cmd
}

// runProbe runs the packet probe when the API server answers.
func runProbe(cmd *cobra.Command, env Env, cfg *rest.Config, p verify.Probe) []verify.Check {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return []verify.Check{verify.Skip("probe", "skipped: %v", err)}
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		return []verify.Check{verify.Skip("probe", "skipped: the API server does not answer: %v", err)}
	}
	pr := &verify.Prober{Client: cs, Progress: env.Stderr}
	return pr.Run(cmd.Context(), p)
}
