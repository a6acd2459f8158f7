package cli

import (
	"context"
	"fmt"
	"io"
	"time"
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
