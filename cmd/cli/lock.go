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
		what = strings.Join(append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...), " ")
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
