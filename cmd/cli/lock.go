package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/provision/state"
)

// lockState holds the cluster's state folder while cmd changes the
// cluster: a second up or down on it fails at once, naming this one.
func lockState(env Env, cmd *cobra.Command, args []string, dir string) (func(), error) {
	// The command line as typed, flags included, names the holder.
	what := strings.TrimSpace(cmd.CommandPath() + " " + strings.Join(args, " "))
	if len(os.Args) > 1 && os.Args[1] == cmd.Name() {
		what = strings.Join(append([]string{filepath.Base(os.Args[0])}, hideVars(os.Args[1:])...), " ")
	}
	l, err := state.Lock(dir, what)
	if err != nil {
		return nil, err
	}
	if s := l.Stale; s != nil {
		fmt.Fprintf(env.Stderr, "kprov: took over the lock of %s left by %s, which is no longer running\n", dir, s)
	}
	return l.Release, nil
}

// hideVars blanks -var values: a variable may hold a secret, and the
// holder's command line is shown to whoever runs kprov next.
func hideVars(args []string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		name := strings.TrimLeft(a, "-")
		switch {
		case a == name:
		case name == "var" && i+1 < len(out):
			if k, _, ok := strings.Cut(out[i+1], "="); ok {
				out[i+1] = k + "=…"
			}
		case strings.HasPrefix(name, "var="):
			if k, _, ok := strings.Cut(strings.TrimPrefix(name, "var="), "="); ok {
				out[i] = a[:len(a)-len(name)] + "var=" + k + "=…"
			}
		}
	}
	return out
}
