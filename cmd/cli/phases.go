package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// phase is one named step of a command; names are stable ("provision/disks").
type phase struct {
	name string
	run  func(context.Context) error
}

// runPhases runs phases in order, printing one line per phase with its
// outcome and duration, and stops at the first failure.
func runPhases(ctx context.Context, w io.Writer, phases []phase) error {
	for _, p := range phases {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(w, "✗ %s: interrupted\n", p.name)
			return fmt.Errorf("interrupted before %s; run the command again to finish", p.name)
		}
		start := time.Now()
		err := p.run(ctx)
		d := time.Since(start).Round(time.Millisecond)
		if err != nil && ctx.Err() != nil {
			fmt.Fprintf(w, "✗ %s: interrupted (%s)\n", p.name, d)
			return fmt.Errorf("interrupted during %s; run the command again to finish", p.name)
		}
		if err != nil {
			fmt.Fprintf(w, "✗ %s (%s)\n", p.name, d)
			return fmt.Errorf("%s: %w", p.name, err)
		}
		fmt.Fprintf(w, "✓ %s (%s)\n", p.name, d)
	}
	return nil
}

// phaseSelection is --only and --skip: phase names, or prefixes such as
// "kubeadm" for every kubeadm/... phase.
type phaseSelection struct{ only, skip []string }

func (s *phaseSelection) register(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&s.only, "only", nil, "run only these phases (names or prefixes, e.g. provision,bootstrap/prepare)")
	cmd.Flags().StringSliceVar(&s.skip, "skip", nil, "skip these phases (names or prefixes, e.g. kubeadm)")
}

func matches(name string, patterns []string) bool {
	for _, p := range patterns {
		if name == p || strings.HasPrefix(name, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// apply keeps the selected phases; a pattern that names no phase is an
// error listing them.
func (s phaseSelection) apply(phases []phase) ([]phase, error) {
	for _, p := range append(append([]string{}, s.only...), s.skip...) {
		found := false
		for _, ph := range phases {
			found = found || matches(ph.name, []string{p})
		}
		if !found {
			names := make([]string, len(phases))
			for i, ph := range phases {
				names[i] = ph.name
			}
			return nil, usageError{fmt.Errorf("no phase %q; the phases are %s", p, strings.Join(names, ", "))}
		}
	}
	var out []phase
	for _, ph := range phases {
		if (len(s.only) == 0 || matches(ph.name, s.only)) && !matches(ph.name, s.skip) {
			out = append(out, ph)
		}
	}
	return out, nil
}
