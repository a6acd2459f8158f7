package cli

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/kprov/kprov/provision/spec"
)

func newValidate(env Env) *cobra.Command {
	var f specFlags
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a cluster spec and report every problem at once",
		Long: "validate decodes the spec, applies defaults and checks it without touching any host:\n" +
			"names, address ranges, MTU arithmetic, node sizes and version compatibility.\n" +
			"Manifests named by local path are read and checked as render checks them (sha256\n" +
			"against the spec or kprov.lock.hcl, APIs the Kubernetes version removed, Calico's\n" +
			"image tags, the ingress Service); manifests named by URL are left to render and up.\n" +
			"Errors exit 1; warnings are printed and do not block.",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.loadWith(env, args[0], func(s *spec.Spec) hcl.Diagnostics {
				return checkManifests(cmd.Context(), s.Cluster, args[0])
			})
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
