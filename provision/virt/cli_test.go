package virt_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/labtest"
	"github.com/kprov/kprov/provision/cloudinit"
	"github.com/kprov/kprov/provision/seed"
	"github.com/kprov/kprov/provision/state"

	"github.com/kprov/kprov/internal/judge"
)

// The kprov command's lifecycle on real VMs: up interrupted by SIGTERM
// while disks are made, by Ctrl-C while nodes boot (a concurrent up is
// refused meanwhile) and by SIGTERM while they are prepared; up again
// converges, the next changes nothing; a node removed by hand shows in
// status and up recreates it; down removes everything and is safe twice.
func TestCLILifecycle(t *testing.T) {
	cli := newCLI(t, "cli", "10.87.0.0/24", `
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  node_pool "worker" {
    role   = "worker"
    vcpu   = 1
    memory = "1GiB"
  }
  etcd { disk_check = "warn" } # software emulation: slow fdatasync`)
	kprov, specPath, dir, pool := cli.cmd, cli.spec, cli.dir, cli.pool
	// Everything kprov printed, to grep for secrets at the end.
	var transcript strings.Builder
	run := func(args ...string) (string, string) {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := kprov(args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		transcript.WriteString(out.String() + errb.String())
		if err != nil {
			t.Fatalf("kprov %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String(), errb.String()
	}
	// The binaries and images come from mirrors this test does not run: stop
	// after preparing the nodes (bootstrap/binaries and bootstrap/images are
	// tested in images_test.go and by make lab, the addons against real API
	// servers).
	skip := "kubeadm,bootstrap/binaries,bootstrap/images,addons"

	// interrupt runs up and sends sig once a line starting with after
	// shows; during, when set, runs while up is still going. A node hung
	// at boot past boot_timeout (see below) gets one logged retry.
	interrupt := func(after string, sig syscall.Signal, during func()) string {
		t.Helper()
		for attempt := 1; ; attempt++ {
			seen, reached, err := interruptOnce(kprov, specPath, skip, after, sig, during)
			transcript.WriteString(seen)
			if hung := hungNode.FindStringSubmatch(seen); !reached && hung != nil && attempt == 1 {
				t.Logf("%s did not answer within boot_timeout before %q; powering it off and running up again:\n%s", hung[1], after, seen)
				labtest.Virsh(t, "destroy", "kprov-cli-"+hung[1])
				continue
			}
			if err == nil || !reached || !strings.Contains(seen, "; run the command again to finish") {
				t.Fatalf("up interrupted after %q (line seen: %v): %v\n%s", after, reached, err, seen)
			}
			return seen
		}
	}
	timed := func(args ...string) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		_, msg := run(args...)
		return msg, time.Since(start)
	}

	// plan reads the host: its summary and --detailed-exitcode.
	planned := func(path string) (map[string]int, int, string) {
		t.Helper()
		var out, errb bytes.Buffer
		cmd := kprov("plan", "--detailed-exitcode", "-o", "json", path)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Reached bool
			Summary map[string]int
		}
		if err := json.Unmarshal(out.Bytes(), &r); err != nil || !r.Reached {
			t.Fatalf("plan %s: %v (exit %d)\n%s%s", path, err, code, out.String(), errb.String())
		}
		return r.Summary, code, out.String()
	}
	want := func(what string, got map[string]int, code int, add, change, remove, wantCode int) {
		t.Helper()
		if got["add"] != add || got["change"] != change || got["remove"] != remove || code != wantCode {
			t.Errorf("plan %s: %v, exit %d; want %d to add, %d to change, %d to remove, exit %d", what, got, code, add, change, remove, wantCode)
		}
	}
	sum, code, _ := planned(specPath)
	want("before up", sum, code, 9, 0, 0, 2) // network, pool, base image, 3 per node

	// SIGTERM while disks are made: stops before anything boots.
	msg := interrupt("✓ provision/image", syscall.SIGTERM, nil)
	if !regexp.MustCompile(`interrupted (during|before) provision/(drift|disks|seeds|domains|start)`).MatchString(msg) {
		t.Errorf("SIGTERM during disks:\n%s", msg)
	}
	// Ctrl-C once the nodes are booting; meanwhile a second up on the
	// same cluster is refused at once, naming the first.
	msg = interrupt("✓ provision/start", syscall.SIGINT, func() {
		var errb bytes.Buffer
		second := kprov("up", specPath)
		second.Stderr = &errb
		start := time.Now()
		if err := second.Run(); err == nil || !strings.Contains(errb.String(), `is in use by "kprov up --skip `+skip) || time.Since(start) > 10*time.Second {
			t.Errorf("concurrent up: %v after %s\n%s", err, time.Since(start), errb.String())
		}
	})
	if !strings.Contains(msg, "interrupted during provision/ssh; run the command again to finish") {
		t.Errorf("SIGINT while booting:\n%s", msg)
	}
	// SIGTERM while the nodes are prepared.
	msg = interrupt("✓ provision/ssh", syscall.SIGTERM, nil)
	if !strings.Contains(msg, "interrupted during bootstrap/prepare; run the command again to finish") {
		t.Errorf("SIGTERM during preparation:\n%s", msg)
	}

	msg, took := timed("up", "--skip", skip, specPath)
	if !strings.Contains(msg, "2 nodes up") || !strings.Contains(msg, "✓ bootstrap/prepare") || !strings.Contains(msg, "✓ bootstrap/etcd-disk") {
		t.Errorf("up after the interruptions:\n%s", msg)
	}
	t.Logf("up after three interruptions converged in %s", took.Round(time.Second))
	if _, msg := run("up", "--skip", skip, specPath); !strings.Contains(msg, "2 nodes up, 0 changes made") || strings.Contains(msg, "containerd: systemd") {
		t.Errorf("next up changed something:\n%s", msg)
	}

	sum, code, _ = planned(specPath)
	want("after up", sum, code, 0, 0, 0, 0)
	sameAsRender(t, run, dir, pool, specPath, "cli", []string{"cp-1", "worker-1"})
	sameKubeadmConfig(t, kprov, run, dir, specPath)
	gathersLogs(t, run, dir, specPath)
	// One more worker: its disk, seed and domain, and a DHCP host.
	spec, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	more := filepath.Join(dir, "more.hcl")
	os.WriteFile(more, bytes.Replace(spec, []byte(`role   = "worker"`), []byte(`role   = "worker"
    count  = 2`), 1), 0o644)
	sum, code, out := planned(more)
	want("with count = 2", sum, code, 3, 1, 0, 2)
	if !strings.Contains(out, "add DHCP host worker-2") {
		t.Errorf("plan with count = 2 does not say what changes in the network:\n%s", out)
	}
	// A pool removed from the spec: its node is shown as to remove; with
	// --keep-nodes up leaves it, without it up removes it. The cluster was
	// never bootstrapped here (no kubeconfig), so there is nothing to drain:
	// its domain, disk, seed and DHCP host go.
	fewer := filepath.Join(dir, "fewer.hcl")
	os.WriteFile(fewer, regexp.MustCompile(`(?s)node_pool "worker" \{.*?\n  \}`).ReplaceAll(spec, nil), 0o644)
	sum, code, _ = planned(fewer)
	want("without the worker pool", sum, code, 0, 0, 1, 2)
	if _, msg := run("up", "--skip", skip, "--keep-nodes", fewer); !strings.Contains(msg, "worker-1: not in the spec; kept (--keep-nodes)") {
		t.Errorf("up --keep-nodes:\n%s", msg)
	}
	_, msg = run("up", "--skip", skip, fewer)
	if !strings.Contains(msg, "nothing to drain") || !regexp.MustCompile(`worker-1: removed \(domain, disk, seed and DHCP host 10\.87\.0\.\d+\)`).MatchString(msg) {
		t.Errorf("up without the worker pool:\n%s", msg)
	}
	if l := labtest.Virsh(t, "list", "--all", "--name"); strings.Contains(l, "kprov-cli-worker-1") {
		t.Errorf("worker-1's domain is left:\n%s", l)
	}
	if l := labtest.Virsh(t, "vol-list", "kprov-cli"); strings.Contains(l, "worker-1") {
		t.Errorf("worker-1's volumes are left:\n%s", l)
	}
	if x := labtest.Virsh(t, "net-dumpxml", "kprov-cli"); strings.Contains(x, "worker-1") {
		t.Errorf("worker-1's DHCP host is left:\n%s", x)
	}
	sum, code, _ = planned(fewer)
	want("after the scale-down", sum, code, 0, 0, 0, 0)

	// The whole spec again: status shows worker-1 missing, plan its disk,
	// seed and domain to add and its DHCP host to add to the network.
	if out, _ := run("status", specPath); !regexp.MustCompile(`worker-1\s+worker\s+missing`).MatchString(out) {
		t.Errorf("status after removing worker-1:\n%s", out)
	}
	sum, code, _ = planned(specPath)
	want("after removing worker-1", sum, code, 3, 1, 0, 2)
	// A stopped pool cannot be read: plan says it starts it and shows its
	// volumes as to add (up keeps those it then finds).
	labtest.Virsh(t, "pool-destroy", "kprov-cli")
	sum, code, _ = planned(specPath)
	want("with the pool stopped", sum, code, 6, 2, 0, 2)
	// Under software emulation on a loaded 2-core host, a booting node has
	// hung in its disk I/O (NVMe I/O timeouts on the console) past
	// boot_timeout; kprov then fails naming it. One retry is allowed, and
	// logged: the hung node is powered off, as its user would, and the
	// next up starts it.
	start := time.Now()
	var errb bytes.Buffer
	first := kprov("up", "--skip", skip, specPath)
	first.Stderr = &errb
	if err := first.Run(); err != nil {
		transcript.WriteString(errb.String())
		if !strings.Contains(errb.String(), "node worker-1 did not answer SSH") {
			t.Fatalf("up after removing worker-1: %v\n%s", err, errb.String())
		}
		t.Logf("worker-1 did not answer within boot_timeout; powering it off and running up again:\n%s", errb.String())
		labtest.Virsh(t, "destroy", "kprov-cli-worker-1")
		msg, _ = timed("up", "--skip", skip, specPath)
	} else {
		transcript.WriteString(errb.String())
		msg = errb.String()
	}
	if !strings.Contains(msg, "2 nodes up") {
		t.Errorf("up after removing worker-1:\n%s", msg)
	}
	t.Logf("up recreated the removed node in %s", time.Since(start).Round(time.Second))
	out, _ = run("status", specPath, "--output", "json")
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
	if l := labtest.Virsh(t, "net-list", "--all", "--name"); strings.Contains(l, "kprov-cli") {
		t.Errorf("networks left:\n%s", l)
	}
	if l := labtest.Virsh(t, "pool-list", "--all", "--name"); strings.Contains(l, "kprov-cli") {
		t.Errorf("pools left:\n%s", l)
	}
	if _, err := os.Stat(pool); !os.IsNotExist(err) {
		t.Errorf("pool folder %s left: %v", pool, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "state", "cli", "lock")); err != nil || len(b) != 0 {
		t.Errorf("state lock after down: %q %v (want empty: released)", b, err)
	}

	// Secrets: 0600 files in 0700 folders, and never in kprov's output
	// or in the per-node logs.
	stateDir := filepath.Join(dir, "state", "cli")
	secrets, err := state.Load(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	logs := 0
	filepath.WalkDir(stateDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Error(err)
			return nil
		}
		fi, _ := d.Info()
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s is %o, want %o", path, fi.Mode().Perm(), want)
		}
		if !d.IsDir() && strings.HasSuffix(path, ".log") {
			logs++
			b, _ := os.ReadFile(path)
			if leaks := secrets.Leaks(b); len(leaks) > 0 {
				t.Errorf("%s holds %v", path, leaks)
			}
		}
		return nil
	})
	if logs != 2 {
		t.Errorf("%d node logs, want 2", logs)
	}
	if leaks := secrets.Leaks([]byte(transcript.String())); len(leaks) > 0 || transcript.Len() < 1000 {
		t.Errorf("kprov printed %v (%d bytes seen)", leaks, transcript.Len())
	}
}

// cli is the kprov binary on a spec of its own, with the test's state
// folder; `kprov down` runs at cleanup.
type cli struct {
	bin, dir, spec, pool string
}

// newCLI builds kprov and writes cluster name: software emulation, its pool
// in /var/lib/kprov-test/NAME, the lab image, an isolated network on cidr,
// then body (the node pools and the rest).
func newCLI(t *testing.T, name, cidr, body string) *cli {
	t.Helper()
	labtest.Need(t)
	image := labtest.Image(t)
	c := &cli{dir: t.TempDir(), pool: "/var/lib/kprov-test/" + name}
	c.bin = filepath.Join(c.dir, "kprov")
	build := exec.Command("go", "build", "-o", c.bin, "./cmd/kprov")
	build.Dir = judge.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Cleanup(func() { os.RemoveAll(c.pool) })
	c.spec = filepath.Join(c.dir, name+".hcl")
	hcl := fmt.Sprintf(`cluster %q {
  hypervisor {
    storage_pool = %q
    accelerator  = "tcg"
    boot_timeout = "6m"
  }
  image { source = %q }
  network {
    mode      = "isolated"
    node_cidr = %q
  }
%s
}
`, name, c.pool, image, cidr, body)
	if err := os.WriteFile(c.spec, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cmd("down", c.spec).Run() })
	return c
}

func (c *cli) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), "KPROV_STATE_DIR="+filepath.Join(c.dir, "state"), "NO_COLOR=1")
	return cmd
}

// sameAsRender proves that up made exactly what render writes for the same
// spec and state folder: each seed volume is the ISO of render's
// cloud-init files, byte for byte, and each domain, as libvirt holds it, is
// what libvirt makes of render's domain XML.
func sameAsRender(t *testing.T, run func(...string) (string, string), dir, pool, specPath, cluster string, nodes []string) {
	t.Helper()
	out := filepath.Join(dir, "render")
	run("render", "--out", out, specPath)
	read := func(path string) []byte {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, n := range nodes {
		ci := filepath.Join(out, "nodes", n, "cloud-init")
		iso, err := seed.ISO(cloudinit.Seed{
			MetaData:      read(filepath.Join(ci, cloudinit.MetaDataFile)),
			UserData:      read(filepath.Join(ci, cloudinit.UserDataFile)),
			NetworkConfig: read(filepath.Join(ci, cloudinit.NetworkConfigFile)),
		})
		if err != nil {
			t.Fatal(err)
		}
		have := read(filepath.Join(pool, "kprov-"+cluster+"-"+n+"-seed.iso"))
		if !bytes.Equal(bytes.TrimRight(have, "\x00"), bytes.TrimRight(iso, "\x00")) {
			t.Errorf("%s: the seed volume up uploaded is not the ISO of render's cloud-init files", n)
		}

		domain := "kprov-" + cluster + "-" + n
		x := read(filepath.Join(out, "libvirt", "domains", domain+".xml"))
		probe := "kprov-render-" + n
		x = bytes.Replace(x, []byte("<name>"+domain+"</name>"), []byte("<name>"+probe+"</name>"), 1)
		file := filepath.Join(dir, probe+".xml")
		os.WriteFile(file, x, 0o644)
		labtest.Virsh(t, "define", file)
		normal := func(name string) string {
			x := labtest.Virsh(t, "dumpxml", "--inactive", name)
			x = regexp.MustCompile(`(?m)^\s*<(name|uuid)>.*</(name|uuid)>\n`).ReplaceAllString(x, "")
			return x
		}
		got, want := normal(domain), normal(probe)
		labtest.Virsh(t, "undefine", probe)
		if got != want {
			t.Errorf("%s: libvirt holds a domain other than render's XML:\n--- up\n%s\n--- render\n%s", n, got, want)
		}
	}
}

// sameKubeadmConfig runs up's kubeadm/init phase on a node that has no
// kubeadm (the binaries phase is skipped here): it uploads the
// configuration and then fails on `kubeadm init`, naming the command. The
// file it left on the node must be render's init.yaml, byte for byte.
func sameKubeadmConfig(t *testing.T, kprov func(...string) *exec.Cmd, run func(...string) (string, string), dir, specPath string) {
	t.Helper()
	var errb bytes.Buffer
	up := kprov("up", "--only", "kubeadm/init", specPath)
	up.Stderr = &errb
	if err := up.Run(); err == nil || !strings.Contains(errb.String(), "kubeadm init --config /etc/kprov/kubeadm-init.yaml") {
		t.Fatalf("up --only kubeadm/init without kubeadm on the node: %v\n%s", err, errb.String())
	}
	// The file holds the join credentials: read it outside the transcript
	// that is checked for secrets kprov printed.
	cat := kprov("ssh", specPath, "cp-1", "--", "sudo", "cat", "/etc/kprov/kubeadm-init.yaml")
	b, err := cat.Output()
	if err != nil {
		t.Fatalf("read kubeadm-init.yaml on cp-1: %v", err)
	}
	have := string(b)
	want, err := os.ReadFile(filepath.Join(dir, "render", "nodes", "cp-1", "kubeadm", "init.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if have != string(want) {
		t.Errorf("cp-1: the kubeadm configuration up placed is not render's init.yaml:\n--- node\n%s\n--- render\n%s", have, want)
	}
	mode, _ := run("ssh", specPath, "cp-1", "--", "sudo", "stat", "-c", "%a", "/etc/kprov/kubeadm-init.yaml")
	if strings.TrimSpace(mode) != "600" {
		t.Errorf("cp-1: kubeadm-init.yaml has mode %s; it holds the join credentials, want 600", mode)
	}
}

// gathersLogs runs kprov logs on the booted nodes: each node's journals
// (the kernel's names the running kernel), cloud-init's output and the
// serial console from libvirt, with no secret of the state folder in them.
func gathersLogs(t *testing.T, run func(...string) (string, string), dir, specPath string) {
	t.Helper()
	out := filepath.Join(dir, "logs")
	run("logs", specPath, "--out", out)
	secrets, err := state.Load(filepath.Join(dir, "state", "cli"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"cp-1", "worker-1"} {
		read := func(name string) string {
			b, err := os.ReadFile(filepath.Join(out, n, name))
			if err != nil {
				t.Errorf("%s: %v", n, err)
			}
			return string(b)
		}
		if k := read("kernel.log"); !strings.Contains(k, "Linux version") {
			t.Errorf("%s: kernel.log does not name the kernel:\n%.500s", n, k)
		}
		if c := read("console.log"); !strings.Contains(c, "Linux version") {
			t.Errorf("%s: console.log is not the serial console:\n%.500s", n, c)
		}
		if c := read("cloud-init-output.log"); !strings.Contains(c, "Cloud-init") {
			t.Errorf("%s: cloud-init-output.log:\n%.500s", n, c)
		}
	}
	filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(path)
		for _, s := range []string{secrets.BootstrapToken, secrets.CertificateKey, string(secrets.SSHPrivateKey)} {
			if s != "" && bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret of the state folder", path)
			}
		}
		return nil
	})
}

// hungNode finds the node kprov names when it gave up waiting for SSH.
var hungNode = regexp.MustCompile(`node (\S+) did not answer SSH`)

// interruptOnce runs up and sends sig once a line starting with after
// shows. Up may wait boot_timeout (6m) for SSH before that line, so the
// wait for it is longer; once signalled, a kprov that does not stop within
// two minutes is killed: the test fails, and does not hang.
func interruptOnce(kprov func(...string) *exec.Cmd, specPath, skip, after string, sig syscall.Signal, during func()) (string, bool, error) {
	up := kprov("up", "--skip", skip, specPath)
	stderr, _ := up.StderrPipe()
	if err := up.Start(); err != nil {
		return "", false, err
	}
	watchdog := time.AfterFunc(12*time.Minute, func() { up.Process.Kill() })
	defer watchdog.Stop()
	var seen strings.Builder
	reached := false
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if !reached && strings.HasPrefix(sc.Text(), after) {
			reached = true
			if during != nil {
				during()
			}
			watchdog.Reset(2 * time.Minute)
			up.Process.Signal(sig)
		}
	}
	return seen.String(), reached, up.Wait()
}
