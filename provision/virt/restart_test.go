package virt_test

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/labtest"
)

// libvirtd restarted (an upgrade, a crash) while `kprov up` waits for its
// node to boot: the VM keeps running, up finishes, and the next up, on a
// new connection, finds nothing to change.
func TestLibvirtdRestartDuringUp(t *testing.T) {
	c := newCLI(t, "restart", "10.88.0.0/24", `
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }`)
	kprov, specPath := c.cmd, c.spec
	up := kprov("up", "--only", "provision", specPath)
	stderr, _ := up.StderrPipe()
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(7*time.Minute, func() { up.Process.Kill() })
	defer watchdog.Stop()
	var seen strings.Builder
	restarted := time.Duration(0)
	sc := bufio.NewScanner(stderr)
	deadline := time.Now().Add(6 * time.Minute)
	for sc.Scan() && time.Now().Before(deadline) {
		seen.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "✓ provision/start") {
			start := time.Now()
			labtest.RestartLibvirtd(t)
			restarted = time.Since(start)
		}
	}
	if err := up.Wait(); err != nil || restarted == 0 || !strings.Contains(seen.String(), "1 node up") {
		t.Fatalf("up across a libvirtd restart (%s): %v\n%s", restarted, err, seen.String())
	}
	t.Logf("libvirtd restarted in %s while the node booted; up finished:\n%s", restarted.Round(time.Millisecond), seen.String())
	if st := strings.TrimSpace(labtest.Virsh(t, "domstate", "kprov-restart-cp-1")); st != "running" {
		t.Errorf("after the restart the node is %s", st)
	}
	var errb bytes.Buffer
	again := kprov("up", "--only", "provision", specPath)
	again.Stderr = &errb
	if err := again.Run(); err != nil || !strings.Contains(errb.String(), "1 node up, 0 changes made") {
		t.Errorf("next up: %v\n%s", err, errb.String())
	}
}

// libvirtd restarted right as `kprov up` starts the image phase: the call
// fails, kprov connects again once libvirtd is back, runs the phase again
// and finishes. (An import cut off half-way is TestBaseImageImportCutOff.)
func TestLibvirtdRestartDuringImport(t *testing.T) {
	c := newCLI(t, "reimport", "10.89.0.0/24", `
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }`)
	kprov, specPath, pool := c.cmd, c.spec, c.pool
	// Up to the domains: booting is not what this test is about.
	up := kprov("up", "--only", "provision/network,provision/pool,provision/image,provision/disks,provision/seeds,provision/domains", specPath)
	stderr, _ := up.StderrPipe()
	start := time.Now()
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(7*time.Minute, func() { up.Process.Kill() })
	defer watchdog.Stop()
	var seen strings.Builder
	sc := bufio.NewScanner(stderr)
	deadline := time.Now().Add(5 * time.Minute)
	for sc.Scan() && time.Now().Before(deadline) {
		seen.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "✓ provision/pool") {
			labtest.RestartLibvirtd(t)
		}
	}
	err := up.Wait()
	out := seen.String()
	t.Logf("up across a libvirtd restart during the import took %s:\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil || !strings.Contains(out, "lost the connection to libvirt") || !strings.Contains(out, "✓ provision/domains") {
		t.Fatalf("up: %v", err)
	}
	var errb bytes.Buffer
	again := kprov("up", "--only", "provision/network,provision/pool,provision/image,provision/disks,provision/seeds,provision/domains", specPath)
	again.Stderr = &errb
	if err := again.Run(); err != nil || !strings.Contains(errb.String(), "0 changes made") {
		t.Errorf("next up: %v\n%s", err, errb.String())
	}
	if l := labtest.Virsh(t, "vol-list", "--pool", "kprov-reimport"); len(regexp.MustCompile(`(?m)^\s*kprov-reimport-\S+\s+/`).FindAllString(l, -1)) != 3 {
		t.Errorf("volumes (want base, disk, seed):\n%s", l)
	}

	// down after this partial up (nothing started) removes all of it, and
	// a second down finds nothing.
	for i, want := range []string{"removed (", "(0 changes)"} {
		var errb bytes.Buffer
		down := kprov("down", specPath)
		down.Stderr = &errb
		if err := down.Run(); err != nil || !strings.Contains(errb.String(), want) {
			t.Errorf("down %d: %v\n%s", i+1, err, errb.String())
		}
	}
	for _, what := range []string{"list", "net-list", "pool-list"} {
		if l := labtest.Virsh(t, what, "--all", "--name"); strings.Contains(l, "kprov-reimport") {
			t.Errorf("virsh %s after down:\n%s", what, l)
		}
	}
	if _, err := os.Stat(pool); !os.IsNotExist(err) {
		t.Errorf("pool folder left: %v", err)
	}
}
