package virt_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/lab/labtest"

	"github.com/kprov/kprov/provision/judge"
)

// The kprov command's lifecycle on real VMs: up interrupted with Ctrl-C
// while nodes boot, up again finishes, a third up changes nothing, status
// shows the nodes, down removes everything and is safe twice.
func TestCLILifecycle(t *testing.T) {
	labtest.Need(t)
	image := labtest.Image(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "kprov")
	build := exec.Command("go", "build", "-o", bin, "./cmd/kprov")
	build.Dir = judge.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pool := "/var/lib/kprov-test/cli"
	t.Cleanup(func() { os.RemoveAll(pool) })
	specPath := filepath.Join(dir, "cli.hcl")
	os.WriteFile(specPath, []byte(fmt.Sprintf(`cluster "cli" {
  hypervisor {
    storage_pool = %q
    accelerator  = "tcg"
    boot_timeout = "6m"
  }
  image { source = %q }
  network {
    mode      = "isolated"
    node_cidr = "10.87.0.0/24"
  }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  node_pool "worker" {
    role   = "worker"
    vcpu   = 1
    memory = "1GiB"
  }
  etcd { disk_check = "warn" } # software emulation: slow fdatasync
}
`, pool, image)), 0o644)
	kprov := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "KPROV_STATE_DIR="+filepath.Join(dir, "state"), "NO_COLOR=1")
		return cmd
	}
	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := kprov(args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("kprov %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String(), errb.String()
	}
	t.Cleanup(func() { kprov("down", specPath).Run() })

	// Ctrl-C once the nodes are booting.
	up := kprov("up", "--skip", "kubeadm,bootstrap/binaries", specPath)
	stderr, _ := up.StderrPipe()
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	sc := bufio.NewScanner(stderr)
	deadline := time.Now().Add(3 * time.Minute)
	for sc.Scan() && time.Now().Before(deadline) {
		seen.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "✓ provision/start") {
			up.Process.Signal(syscall.SIGINT)
		}
	}
	err := up.Wait()
	if err == nil || !strings.Contains(seen.String(), "interrupted during provision/ssh; run the command again to finish") {
		t.Fatalf("interrupted up: %v\n%s", err, seen.String())
	}

	// kubeadm needs container images no registry here can serve, and the
	// binaries come from a mirror this test does not run: stop after
	// preparing the nodes (bootstrap/binaries is tested in bootstrap/binaries
	// and by make lab).
	_, msg := run("up", "--skip", "kubeadm,bootstrap/binaries", specPath)
	if !strings.Contains(msg, "2 nodes up") || !strings.Contains(msg, "✓ bootstrap/prepare") || !strings.Contains(msg, "✓ bootstrap/etcd-disk") {
		t.Errorf("second up:\n%s", msg)
	}
	if _, msg := run("up", "--skip", "kubeadm,bootstrap/binaries", specPath); !strings.Contains(msg, "2 nodes up, 0 changes made") || strings.Contains(msg, "containerd: systemd") {
		t.Errorf("third up changed something:\n%s", msg)
	}
	out, _ := run("status", specPath, "--output", "json")
	var st struct {
		Nodes []struct{ Name, State string }
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Nodes) != 2 {
		t.Fatalf("status: %v\n%s", err, out)
	}
	for _, n := range st.Nodes {
		if n.State != "running" {
			t.Errorf("%s is %s", n.Name, n.State)
		}
	}
	if _, msg := run("down", specPath); !strings.Contains(msg, `cluster "cli" removed`) {
		t.Errorf("down:\n%s", msg)
	}
	if _, msg := run("down", specPath); !strings.Contains(msg, "(0 changes)") {
		t.Errorf("second down:\n%s", msg)
	}
	out, _ = run("status", specPath)
	if strings.Count(out, "missing") != 2 {
		t.Errorf("status after down:\n%s", out)
	}
	if l := labtest.Virsh(t, "list", "--all", "--name"); strings.Contains(l, "kprov-cli") {
		t.Errorf("domains left:\n%s", l)
	}
}
