package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// PrintTable writes one line per image (CPU-seconds, wall time, pull size,
// unpacked size, digest) and the totals. Wall is this run's; a cached image
// costs only the check.
func PrintTable(w io.Writer, results []Result, wall time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tCPU-s\tWALL-s\tSIZE-MB\tUNPACKED-MB\tSTATE\tDIGEST\t")
	var cpu time.Duration
	var size, unpacked int64
	for _, r := range results {
		state, digest := "built", r.Digest
		switch {
		case r.Err != nil:
			state, digest = "FAILED", "-"
		case r.Cached:
			state = "cached"
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t%s\t\n", r.Ref, r.CPU.Seconds(), r.Wall.Seconds(),
			float64(r.Size)/1e6, float64(r.Unpacked)/1e6, state, digest)
		cpu += r.CPU
		size += r.Size
		unpacked += r.Unpacked
	}
	fmt.Fprintf(tw, "total (%d images)\t%.1f\t%.1f\t%.1f\t%.1f\t\t\t\n", len(results), cpu.Seconds(), wall.Seconds(),
		float64(size)/1e6, float64(unpacked)/1e6)
	tw.Flush()
}
