package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/bootstrap/phases"
	"github.com/kprov/kprov/bootstrap/registry"
)

func newImages(env Env) *cobra.Command {
	var f specFlags
	var output string
	cmd := &cobra.Command{
		Use:   "images FILE",
		Short: "List every container image the cluster will run, with its pinned digest",
		Long: "images lists kubeadm's images for the spec's Kubernetes version and every image of\n" +
			"the addon objects kprov applies (after its changes, such as calico.image_registry),\n" +
			"with what runs each and the digest kprov.lock.hcl pins (\"-\" until the image was\n" +
			"first pulled), and, when the spec has a registries block, the mirror it is pulled\n" +
			"through. It fetches the addon manifests as render --addons does (checked against,\n" +
			"or recorded in, kprov.lock.hcl).",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return usageError{fmt.Errorf("--output %q: use table or json", output)}
			}
			s, err := f.load(env, args[0])
			if err != nil {
				return err
			}
			imgs, err := phases.ClusterImages(cmd.Context(), s.Cluster, args[0], env.Stderr)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(imgs)
			}
			c := s.Cluster
			var upstreams []registry.Upstream
			if c.Registries != nil {
				refs := make([]string, len(imgs))
				for i, img := range imgs {
					refs[i] = img.Ref
				}
				upstreams = registry.Upstreams(c, refs)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
			if upstreams != nil {
				fmt.Fprintln(tw, "IMAGE\tSOURCE\tDIGEST\tMIRROR")
			} else {
				fmt.Fprintln(tw, "IMAGE\tSOURCE\tDIGEST")
			}
			for _, img := range imgs {
				digest := img.Digest
				if digest == "" {
					digest = "-"
				}
				if upstreams == nil {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", img.Ref, img.Source, digest)
					continue
				}
				mirror := "upstream"
				if u := registry.For(upstreams, img.Ref); u != nil {
					mirror = u.Describe()
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", img.Ref, img.Source, digest, mirror)
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}
