package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidate(env Env) *cobra.Command {
	var f specFlags
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a cluster spec and report every problem at once",
		Long: "validate decodes the spec, applies defaults and checks it without touching any host:\n" +
			"names, address ranges, MTU arithmetic, node sizes and version compatibility.\n" +
			"Errors exit 1; warnings are printed and do not block.",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.load(env, args[0])
			if err != nil {
				return err
			}
			c := s.Cluster
			fmt.Fprintf(env.Stdout, "%s: cluster %q is valid: %s, Kubernetes %s, Calico %s, kube-proxy %s",
				args[0], c.Name, plural(countNodes(c), "node"), c.KubernetesVersion, c.Calico.Version, c.KubeProxy.Mode)
			switch n := len(s.Warnings); n {
			case 0:
			case 1:
				fmt.Fprint(env.Stdout, " (1 warning)")
			default:
				fmt.Fprintf(env.Stdout, " (%d warnings)", n)
			}
			fmt.Fprintln(env.Stdout)
			return nil
		},
	}
	f.register(cmd)
	return cmd
}
