// Package phase runs a command's named steps in order, one status line
// each, and picks them by name for --only and --skip.
package phase

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Phase is one named step of a command; names are stable ("provision/disks").
type Phase struct {
	Name string
	Run  func(context.Context) error
}

// Run runs phases in order, printing one line per phase with its outcome
// and duration to w, and stops at the first failure.
func Run(ctx context.Context, w io.Writer, phases []Phase) error {
	for _, p := range phases {
		if err := ctx.Err(); err != nil {
			fmt.Fprintf(w, "✗ %s: interrupted\n", p.Name)
			return fmt.Errorf("interrupted before %s; run the command again to finish", p.Name)
		}
		start := time.Now()
		err := p.Run(ctx)
		d := time.Since(start).Round(time.Millisecond)
		if err != nil && ctx.Err() != nil {
			fmt.Fprintf(w, "✗ %s: interrupted (%s)\n", p.Name, d)
			return fmt.Errorf("interrupted during %s; run the command again to finish", p.Name)
		}
		if err != nil {
			fmt.Fprintf(w, "✗ %s (%s)\n", p.Name, d)
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		fmt.Fprintf(w, "✓ %s (%s)\n", p.Name, d)
	}
	return nil
}

// Names lists the phases' names, in order.
func Names(phases []Phase) []string {
	names := make([]string, len(phases))
	for i, p := range phases {
		names[i] = p.Name
	}
	return names
}
