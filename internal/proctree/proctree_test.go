package proctree

import (
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// A shell with a child and a grandchild: both found, all three killed.
func TestKillTree(t *testing.T) {
	cmd := exec.Command("sh", "-c", "sh -c 'sleep 300 & sleep 300 & wait' & wait")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var below []int
	for i := 0; i < 100 && len(below) < 3; i++ {
		time.Sleep(20 * time.Millisecond)
		below = Descendants(cmd.Process.Pid)
	}
	if len(below) < 3 {
		cmd.Process.Kill()
		t.Fatalf("found %v below %d, want the inner shell and two sleeps", below, cmd.Process.Pid)
	}
	Kill(cmd.Process.Pid)
	cmd.Wait()
	for _, p := range below {
		for i := 0; i < 100 && syscall.Kill(p, 0) == nil; i++ {
			time.Sleep(20 * time.Millisecond) // reaped by init meanwhile
		}
		if syscall.Kill(p, 0) == nil {
			t.Errorf("pid %d still runs", p)
		}
	}
}
