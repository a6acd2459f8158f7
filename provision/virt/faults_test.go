package virt_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/internal/labtest"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/state"
	"github.com/kprov/kprov/provision/virt"
)

func TestUnreachableLibvirt(t *testing.T) {
	_, err := virt.Dial(context.Background(), "qemu:///system?socket=/nonexistent/libvirt-sock", virt.DialOptions{})
	var ue *virt.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("want UnreachableError, got %v", err)
	}
	want := "cannot reach libvirt at qemu:///system?socket=/nonexistent/libvirt-sock: dial unix /nonexistent/libvirt-sock: connect: no such file or directory; is libvirtd running?"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message:\n %s\nwant prefix:\n %s", err, want)
	}
}

func TestPoolPathNotWritable(t *testing.T) {
	labtest.Need(t)
	conn := labtest.Dial(t)
	c := labtest.Spec(t, "ro", labtest.BlankImage(t), "")
	c.Hypervisor.StoragePool = "/proc/kprov-ro"
	p, _ := labtest.Provisioner(t, conn, c)
	err := p.EnsurePool(context.Background())
	if err == nil || !strings.Contains(err.Error(), "build pool kprov-ro at /proc/kprov-ro:") ||
		!strings.HasSuffix(err.Error(), "check the folder is writable on the hypervisor host") {
		t.Errorf("got %v", err)
	}
	if out := labtest.Virsh(t, "pool-list", "--all", "--name"); strings.Contains(out, "kprov-ro") {
		t.Errorf("a pool that could not be built is left defined:\n%s", out)
	}
}

func TestImageChecksumMismatch(t *testing.T) {
	labtest.Need(t)
	conn := labtest.Dial(t)
	img := labtest.BlankImage(t)
	c := labtest.Spec(t, "sum", img, "")
	c.Image.SHA256 = strings.Repeat("0", 64)
	p, _ := labtest.Provisioner(t, conn, c)
	ctx := context.Background()
	for _, step := range []func(context.Context) error{p.EnsureNetwork, p.EnsurePool} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	err := p.EnsureImage(ctx)
	var ce *virt.ChecksumError
	if !errors.As(err, &ce) || ce.Want != c.Image.SHA256 || len(ce.Got) != 64 {
		t.Fatalf("want a checksum error naming both sums, got %v", err)
	}
	if !strings.Contains(err.Error(), "image "+img+": sha256 is "+ce.Got+", expected "+ce.Want) {
		t.Errorf("message: %v", err)
	}
	if out := labtest.Virsh(t, "vol-list", "--pool", "kprov-sum"); strings.Contains(out, "base") {
		t.Errorf("a refused image was imported:\n%s", out)
	}
}

// A base volume changed after nodes were built on it is found on the next
// up, and refused.
func TestBaseImageCorruptedAfterImport(t *testing.T) {
	labtest.Need(t)
	conn := labtest.Dial(t)
	c := labtest.Spec(t, "rot", labtest.BlankImage(t), "")
	p, _ := labtest.Provisioner(t, conn, c)
	ctx := context.Background()
	for _, step := range []func(context.Context) error{p.EnsureNetwork, p.EnsurePool, p.EnsureImage, p.EnsureDisks} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	vol := plan.VolumePath(c, plan.BaseVolumeName(c))
	f, err := os.OpenFile(vol, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("bit rot")
	f.Close()
	err = p.EnsureImage(ctx)
	if err == nil || !strings.Contains(err.Error(), "base volume kprov-rot-base.qcow2 in pool kprov-rot: sha256 is ") {
		t.Errorf("got %v", err)
	}
}

// An import cut off half-way (libvirtd or kprov killed mid-upload) leaves a
// short base volume no node uses yet: the next up imports it again.
func TestBaseImageImportCutOff(t *testing.T) {
	labtest.Need(t)
	conn := labtest.Dial(t)
	c := labtest.Spec(t, "cut", labtest.BlankImage(t), "")
	p, _ := labtest.Provisioner(t, conn, c)
	var logs strings.Builder
	p.Log = func(format string, args ...any) { fmt.Fprintf(&logs, format+"\n", args...) }
	ctx := context.Background()
	for _, step := range []func(context.Context) error{p.EnsureNetwork, p.EnsurePool, p.EnsureImage} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	vol := plan.VolumePath(c, plan.BaseVolumeName(c))
	fi, err := os.Stat(vol)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(vol, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	if err := p.EnsureImage(ctx); err != nil {
		t.Fatalf("up after a cut-off import: %v", err)
	}
	if !strings.Contains(logs.String(), "base volume kprov-cut-base.qcow2 does not match the image") || !strings.Contains(logs.String(), "no node disk uses it: importing it again") {
		t.Errorf("log:\n%s", logs.String())
	}
	if fi2, err := os.Stat(vol); err != nil || fi2.Size() != fi.Size() {
		t.Errorf("re-imported volume: %v %v, want %d bytes", fi2, err, fi.Size())
	}
	if err := p.EnsureImage(ctx); err != nil {
		t.Errorf("third look: %v", err)
	}
}

// A node that never boots fails after boot_timeout, naming the node.
func TestNodeNeverBoots(t *testing.T) {
	labtest.Need(t)
	conn := labtest.Dial(t)
	c := labtest.Spec(t, "dead", labtest.BlankImage(t), "")
	p, secrets := labtest.Provisioner(t, conn, c)
	ctx := context.Background()
	if err := labtest.EnsureAll(ctx, p); err != nil {
		t.Fatal(err)
	}
	w := &virt.Waiter{Secrets: secrets, User: "kprov", Host: p.Host, Timeout: 8 * time.Second,
		ConsoleTail: func(n plan.Node) string { return "console of " + n.Name }}
	start := time.Now()
	err := w.Wait(ctx, p.Nodes[:1])
	var be *virt.BootTimeoutError
	if !errors.As(err, &be) {
		t.Fatalf("want BootTimeoutError, got %v", err)
	}
	if time.Since(start) > time.Minute {
		t.Errorf("gave up after %s", time.Since(start))
	}
	want := fmt.Sprintf("node cp-1: node cp-1 did not answer SSH on %s:22 within 8s", p.Nodes[0].IP)
	if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "end of its serial console:\nconsole of cp-1") {
		t.Errorf("message:\n%v\nwant prefix %q and the console tail", err, want)
	}
}

// An SSH server answering with a key kprov did not give the node is
// refused at once, naming both fingerprints.
func TestHostKeyMismatch(t *testing.T) {
	labtest.Need(t)
	addr := netip.MustParseAddr("10.89.0.7")
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	// The node's address on the namespace's own loopback: sshd listens there.
	ip("addr", "add", addr.String()+"/32", "dev", "lo")
	t.Cleanup(func() { exec.Command("ip", "addr", "del", addr.String()+"/32", "dev", "lo").Run() })

	dir := t.TempDir()
	startSSHD(t, "", addr.String()+":22", writeKey(t, filepath.Join(dir, "client")))

	pinned := filepath.Join(dir, "pinned")
	pub := writeKey(t, pinned)
	client, err := state.Ensure(filepath.Join(dir, "state"), "hk", []string{"cp-1"})
	if err != nil {
		t.Fatal(err)
	}
	client.HostKeys["cp-1"] = state.HostKey{Public: pub}
	w := &virt.Waiter{Secrets: client, User: "kprov", Timeout: 30 * time.Second}
	err = w.Wait(context.Background(), []plan.Node{{Name: "cp-1", IP: addr}})
	var hk *virt.HostKeyError
	if !errors.As(err, &hk) {
		t.Fatalf("want HostKeyError, got %v", err)
	}
	if !strings.HasPrefix(hk.Got, "SHA256:") || !strings.HasPrefix(hk.Want, "SHA256:") || hk.Got == hk.Want {
		t.Errorf("fingerprints: %+v", hk)
	}
	if !strings.Contains(err.Error(), "answered with host key "+hk.Got+", but kprov gave it "+hk.Want+": refusing to connect") {
		t.Errorf("message: %v", err)
	}
}

// writeKey writes an ed25519 private key in OpenSSH form and returns its
// public half in authorized_keys form.
func writeKey(t *testing.T, path string) string {
	t.Helper()
	_, signer := judge.SSHKey(t, path)
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
}

// A node whose definition drifted is reported, and replaced only on request.
func TestDrift(t *testing.T) {
	labtest.Need(t)
	conn := labtest.Dial(t)
	c := labtest.Spec(t, "drift", labtest.BlankImage(t), "")
	p, _ := labtest.Provisioner(t, conn, c)
	ctx := context.Background()
	if err := labtest.EnsureAll(ctx, p); err != nil {
		t.Fatal(err)
	}
	// The spec changed: worker-1's definition is planned again.
	p.Hashes["worker-1"] = "changed"
	p.Defs = nil
	drifts, err := p.CheckDrift(ctx)
	if err != nil || len(drifts) != 1 || drifts[0].Node != "worker-1" {
		t.Fatalf("drift: %v, %v", drifts, err)
	}
	before := p.Mutations()
	if _, err := p.CheckDrift(ctx); err != nil || p.Mutations() != before {
		t.Fatalf("reporting drift changed something: %v", err)
	}
	p.Replace = true
	if err := labtest.EnsureAll(ctx, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(labtest.Virsh(t, "dumpxml", "kprov-drift-worker-1"), `spec-hash="changed"`) {
		t.Error("drifted node was not recreated from the new definition")
	}
}

// The pool's disk fills up while the base image is imported: the error
// names the step and the pool, and no half-written volume is left.
func TestPoolDiskFull(t *testing.T) {
	labtest.Need(t)
	judge.Need(t, "nsenter", "util-linux")
	conn := labtest.Dial(t)
	pidFile := filepath.Join("/run/kprov-lab", os.Getenv(labtest.NSEnv), "libvirtd.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(b))
	// A 32 MiB disk, mounted where libvirtd sees it: its own mount
	// namespace (ip netns exec gave it one).
	dir := "/var/lib/kprov-test/full"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("nsenter", "-t", pid, "-m", "mount", "-t", "tmpfs", "-o", "size=32m", "kprov-full", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("nsenter", "-t", pid, "-m", "umount", dir).Run()
		os.RemoveAll(dir)
	})
	c := labtest.Spec(t, "full", labtest.Image(t), "")
	c.Hypervisor.StoragePool = dir
	p, _ := labtest.Provisioner(t, conn, c)
	ctx := context.Background()
	for _, step := range []func(context.Context) error{p.EnsureNetwork, p.EnsurePool} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2; i++ {
		err := p.EnsureImage(ctx)
		if err == nil || !strings.Contains(err.Error(), "import base image") || !strings.Contains(err.Error(), "No space left on device") ||
			!strings.Contains(err.Error(), "MiB in pool kprov-full (/var/lib/kprov-test/full); free space there or set hypervisor.storage_pool to a folder on a larger disk") {
			t.Fatalf("import %d into a full pool: %v", i+1, err)
		}
		t.Logf("import %d: %v", i+1, err)
		if out := labtest.Virsh(t, "vol-list", "--pool", "kprov-full"); strings.Contains(out, "base") {
			t.Errorf("a half-written base volume is left:\n%s", out)
		}
	}
}

// A volume stream that stops moving data (go-libvirt calls have no timeout
// of their own) is cut off: kprov closes the connection under it, the call
// fails with a StallError instead of waiting forever, and `up`'s phase
// runner then connects again (TestLibvirtdRestartDuringImport).
func TestStreamStall(t *testing.T) {
	labtest.Need(t)
	conn := labtest.Dial(t)
	c := labtest.Spec(t, "stall", labtest.BlankImage(t), "")
	p, _ := labtest.Provisioner(t, conn, c)
	ctx := context.Background()
	for _, step := range []func(context.Context) error{p.EnsureNetwork, p.EnsurePool, p.EnsureImage} {
		if err := step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A second connection to cut: the first one cleans up after the test.
	cut := labtest.Dial(t)
	pool, err := virt.Raw(cut).StoragePoolLookupByName("kprov-stall")
	if err != nil {
		t.Fatal(err)
	}
	vol, err := virt.Raw(cut).StorageVolLookupByName(pool, plan.BaseVolumeName(c))
	if err != nil {
		t.Fatal(err)
	}
	cut.Stall = 2 * time.Second
	start := time.Now()
	err = cut.Download(vol, &stallingWriter{pause: 6 * time.Second})
	var se *virt.StallError
	if !errors.As(err, &se) || time.Since(start) > 10*time.Second {
		t.Fatalf("got %v after %s", err, time.Since(start))
	}
	if !strings.Contains(err.Error(), "download of volume kprov-stall-base.qcow2 moved no data for 2s") {
		t.Errorf("message: %v", err)
	}
	select {
	case <-virt.Raw(cut).Disconnected():
	case <-time.After(5 * time.Second):
		t.Error("the connection is still up")
	}
	t.Logf("%v (after %s)", err, time.Since(start).Round(time.Millisecond))
}

// stallingWriter stops on its first write for pause, as a stream that
// hangs would, then takes everything.
type stallingWriter struct {
	pause  time.Duration
	paused bool
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	if !w.paused {
		w.paused = true
		time.Sleep(w.pause)
	}
	return len(p), nil
}
