package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kprov/kprov/provision/state"
)

// lockState holds the cluster's state folder while cmd changes the
// cluster: a second up or down on it fails at once, naming this one.
func lockState(env Env, cmd *cobra.Command, args []string, dir string) (func(), error) {
	what := strings.TrimSpace(cmd.CommandPath() + " " + strings.Join(args, " "))
	l, err := state.Lock(dir, what)
	if err != nil {
		return nil, err
	}
	if s := l.Stale; s != nil {
		fmt.Fprintf(env.Stderr, "kprov: took over the lock of %s left by %s, which is no longer running\n", dir, s)
	}
	return l.Release, nil
}
