package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRegistryScript runs provision/lab/registry.sh serve, status and stop
// in a network namespace of its own, on a tiny store, and pulls a manifest
// by its mirror_all path from inside that namespace (the gateway address is
// added to the namespace's loopback after the server bound it, as libvirt
// adds it after registry.sh serve).
func TestRegistryScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (ip netns)")
	}
	for _, tool := range []string{"ip", "curl", "ss", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: %v", tool, err)
		}
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(root, "provision/lab/registry.sh")
	dir := t.TempDir()
	digest := storeTiny(t, dir, "registry.k8s.io/pause:3.9", "pause")

	ns := fmt.Sprintf("kprov-regtest-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	env := append(os.Environ(), "KPROV_LAB_NETNS="+ns, "KPROV_REGISTRY_DIR="+dir,
		"KPROV_CACHE="+t.TempDir(), "KPROV_REGISTRY_TTL=5m")
	sh := func(args ...string) (string, error) {
		cmd := exec.Command(script, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Cleanup(func() {
		if out, err := sh("stop"); err != nil {
			t.Errorf("registry.sh stop: %v: %s", err, out)
		}
		if pids, _ := exec.Command("ip", "netns", "pids", ns).Output(); len(strings.TrimSpace(string(pids))) > 0 {
			t.Errorf("processes left in %s: %s", ns, pids)
		}
		exec.Command("ip", "netns", "del", ns).Run()
	})
	exec.Command("ip", "-n", ns, "link", "set", "lo", "up").Run()

	if out, err := sh("status"); err == nil {
		t.Errorf("status before serve answered 0: %s", out)
	}
	if out, err := sh("serve"); err != nil {
		t.Fatalf("registry.sh serve: %v: %s", err, out)
	}
	pid, err := os.ReadFile(filepath.Join("/run/kprov-registry", ns, "server.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := sh("serve"); err != nil || !strings.Contains(out, "already serving") {
		t.Errorf("a second serve: %v: %s", err, out)
	}
	if out, err := sh("status"); err != nil || !strings.Contains(out, "serving 1 images") {
		t.Errorf("status: %v: %s", err, out)
	}
	if out, err := exec.Command("ip", "-n", ns, "addr", "add", "10.77.0.1/32", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	var head string
	for i := 0; i < 20; i++ {
		out, err := exec.Command("ip", "netns", "exec", ns, "curl", "-sS", "-m", "5", "-o", "/dev/null", "-D", "-",
			"http://10.77.0.1:5000/v2/registry.k8s.io/pause/manifests/3.9").Output()
		if head = string(out); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(head, "200 OK") || !strings.Contains(head, digest.String()) {
		t.Errorf("GET of the manifest inside %s:\n%s\nwant 200 with digest %s", ns, head, digest)
	}
	if out, err := sh("stop"); err != nil || !strings.Contains(out, "stopped") {
		t.Errorf("stop: %v: %s", err, out)
	}
	if err := exec.Command("kill", "-0", strings.TrimSpace(string(pid))).Run(); err == nil {
		t.Errorf("pid %s still runs after stop", pid)
	}
	if out, err := sh("status"); err == nil {
		t.Errorf("status after stop answered 0: %s", out)
	}
}
