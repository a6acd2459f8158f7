package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is kprov's release, set at link time with
// -ldflags "-X github.com/kprov/kprov/cmd/cli.Version=v0.1.0".
var Version = ""

func newVersion(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print kprov's version",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			v, commit := Version, ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				if v == "" {
					v = bi.Main.Version
				}
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						commit = s.Value
					}
				}
			}
			if v == "" || v == "(devel)" {
				v = "devel"
			}
			fmt.Fprintf(env.Stdout, "kprov %s", v)
			if commit != "" {
				fmt.Fprintf(env.Stdout, " (%.12s)", commit)
			}
			fmt.Fprintln(env.Stdout)
			return nil
		},
	}
}
