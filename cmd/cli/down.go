package cli

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/provision/state"
	"github.com/kprov/kprov/provision/virt"
)

func newDown(env Env) *cobra.Command {
	var f stateFlags
	f.errorsOnly = true // warnings are for validate, plan and up
	var keepImage bool
	cmd := &cobra.Command{
		Use:   "down FILE",
		Short: "Remove everything kprov created for the cluster",
		Long: "down removes every domain, disk, seed, pool and network kprov tagged for the\n" +
			"spec's cluster, and nothing else. It is safe to run twice and after a failed up.\n" +
			"The cluster's state folder (keys) is kept.",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := f.load(env, args[0])
			if err != nil {
				return err
			}
			c := s.Cluster
			dir := f.stateDir
			if dir == "" {
				dir = state.DefaultDir(c.Name)
			}
			if _, err := os.Stat(dir); err == nil {
				release, err := lockState(env, cmd, args, dir)
				if err != nil {
					return err
				}
				defer release()
			}
			conn, err := connect(cmd.Context(), env, c.Hypervisor.URI)
			if err != nil {
				return err
			}
			defer conn.Close()
			t := &virt.Teardown{Conn: conn, Cluster: c.Name, KeepImage: keepImage, LocalLogs: local(conn.URI),
				Log: func(format string, args ...any) { fmt.Fprintf(env.Stderr, "  "+format+"\n", args...) }}
			if err := t.Run(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(env.Stderr, "cluster %q removed (%d changes)\n", c.Name, t.Mutations())
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&keepImage, "keep-image", false, "keep the pool and its base image for a faster next up")
	return cmd
}
