// Package proctree finds and kills the processes below a PID, read from
// /proc: tests clean up what they start (sshd and its sessions, daemons)
// by PID, never by name.
package proctree

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// Descendants are the PIDs below pid, nearest first (at most 10000).
func Descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		var p int
		if _, err := fmt.Sscan(e.Name(), &p); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the ")" that ends the command name.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		var ppid int
		if len(f) > 1 {
			fmt.Sscan(f[1], &ppid)
		}
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 10000 {
		p := queue[0]
		queue = queue[1:]
		out = append(out, children[p]...)
		queue = append(queue, children[p]...)
	}
	return out
}

// Kill stops pid and every process below it (SIGSTOP first, so none
// starts a new child meanwhile), then kills them all.
func Kill(pid int) {
	all := append([]int{pid}, Descendants(pid)...)
	for _, p := range all {
		syscall.Kill(p, syscall.SIGSTOP)
	}
	for _, p := range all {
		syscall.Kill(p, syscall.SIGKILL)
	}
}
