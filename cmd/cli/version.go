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
			fmt.Fprintf(env.Stdout, "kprov %s\n", versionString())
			return nil
		},
	}
}

// versionString is the release (or the module version, or "devel") and
// the commit it was built from: "v0.1.0 (0123456789ab)".
func versionString() string {
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
	if commit != "" {
		v += fmt.Sprintf(" (%.12s)", commit)
	}
	return v
}
