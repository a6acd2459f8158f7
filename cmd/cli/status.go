package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/provision/virt"
)

func newStatus(env Env) *cobra.Command {
	var f specFlags
	f.errorsOnly = true // warnings are for validate, plan and up
	var output string
	cmd := &cobra.Command{
		Use:     "status FILE",
		Aliases: []string{"list"},
		Short:   "Show each node's state, address and role, read from libvirt",
		Args:    exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return usageError{fmt.Errorf("--output %q: use table or json", output)}
			}
			s, err := f.load(env, args[0])
			if err != nil {
				return err
			}
			c := s.Cluster
			nodes, err := artifacts.Nodes(c)
			if err != nil {
				return err
			}
			conn, err := connect(cmd.Context(), env, c.Hypervisor.URI)
			if err != nil {
				return err
			}
			defer conn.Close()
			st, err := virt.Status(conn, c.Name, nodes, artifacts.Hashes(c, nodes), artifacts.LegacyHashes(c, nodes))
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"cluster": c.Name, "nodes": st})
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NODE\tROLE\tSTATE\tADDRESS\tDOMAIN")
			for _, n := range st {
				state := n.State
				if n.Drifted {
					state += " (drifted)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, n.Role, state, n.Address, n.Domain)
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}
