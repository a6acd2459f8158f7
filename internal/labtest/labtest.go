// Package labtest runs tests against real VMs: a libvirtd of the test's
// own in a network namespace of its own (provision/lab/lab.sh), clusters
// provisioned there, and SSH to their nodes. For tests only.
package labtest

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
	"github.com/kprov/kprov/provision/virt"
)

// NSEnv names the network namespace a test binary runs in. TestMain starts
// a real libvirtd in a namespace of its own (provision/lab/lab.sh), runs
// the tests again inside it, and removes it all afterwards: libvirt's
// networks, the VMs and every SSH connection stay in that namespace.
const NSEnv = "KPROV_TEST_NETNS"

// Main is a test package's TestMain: it runs the package's tests inside a
// fresh lab namespace with its own libvirtd (or as they are under -short).
func Main(m *testing.M) {
	flag.Parse()
	if testing.Short() || os.Getenv(NSEnv) != "" {
		os.Exit(m.Run())
	}
	os.Exit(inLab())
}

// lockFile serialises test packages that need the lab: only one libvirtd
// can run on a machine, and go test runs packages in parallel.
const lockFile = "/run/kprov-labtest.lock"

func inLab() int {
	lock, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	return inLabLocked()
}

func inLabLocked() int {
	ns := fmt.Sprintf("kprov-test-%d", os.Getpid())
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	lab := filepath.Join(root, "provision", "lab", "lab.sh")
	env := append(os.Environ(), "KPROV_LAB_NETNS="+ns)
	run := func(args ...string) error {
		cmd := exec.Command("bash", append([]string{lab}, args...)...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stderr, os.Stderr
		return cmd.Run()
	}
	// The node image is built here, outside the namespace: debootstrap
	// needs Debian's mirror, which the namespace cannot reach.
	if os.Getenv("KPROV_LAB_IMAGE") == "" {
		out, err := exec.Command("bash", filepath.Join(root, "provision", "lab", "image.sh")).Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "building the lab image (provision/lab/image.sh): %v\n", err)
			if ee, ok := err.(*exec.ExitError); ok {
				os.Stderr.Write(ee.Stderr)
			}
			return 1
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		env = append(env, "KPROV_LAB_IMAGE="+strings.Fields(lines[len(lines)-1])[0])
	}
	if err := run("up"); err != nil {
		fmt.Fprintf(os.Stderr, "integration tests need a libvirtd in a namespace of their own: %v\n"+
			"install libvirt-daemon-system qemu-system-x86 (make deps), stop any other libvirtd (make lab-down), or run go test -short\n", err)
		return 1
	}
	defer func() {
		if err := run("down", "--force"); err != nil {
			fmt.Fprintf(os.Stderr, "lab.sh down: %v\n", err)
		}
	}()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(env, NSEnv+"="+ns)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Need skips under -short; otherwise the test runs in the lab namespace.
func Need(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real libvirtd; skipped with -short")
	}
	if os.Getenv(NSEnv) == "" {
		t.Fatal("not running inside the test's lab namespace")
	}
}

func Dial(t testing.TB) *virt.Conn {
	t.Helper()
	// Dial's context bounds the connection's whole life, not just the
	// connect: the timeout option bounds the connect.
	c, err := virt.Dial(context.Background(), "qemu:///system", virt.DialOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Virsh runs virsh against the lab's libvirtd.
func Virsh(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", "qemu:///system"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Spec is a small cluster on an isolated network, its pool in a
// folder QEMU can reach (commandline NVMe disks are not relabelled).
func Spec(t testing.TB, name, image, extra string) *spec.Cluster {
	t.Helper()
	pool := filepath.Join("/var/lib/kprov-test", name)
	t.Cleanup(func() { os.RemoveAll(pool) })
	src := fmt.Sprintf(`
cluster %q {
  hypervisor {
    storage_pool = %q
    accelerator  = "tcg"
    boot_timeout = "6m"
  }
  image { source = %q }
  network {
    mode      = "isolated"
    node_cidr = "10.88.0.0/24"
    mtu       = 1400
  }
  node_pool "cp" {
    role      = "control-plane"
    memory    = "2GiB"
    disk_size = "4GiB"
  }
  node_pool "worker" {
    role      = "worker"
    vcpu      = 1
    memory    = "1GiB"
    disk_size = "4GiB"
  }
  %s
}`, name, pool, image, extra)
	path := filepath.Join(t.TempDir(), "spec.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, diags := spec.NewLoader().LoadFile(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return s.Cluster
}

// BlankImage is a small empty qcow2: enough to define and start domains
// that never boot.
func BlankImage(t testing.TB) string {
	t.Helper()
	judge.Need(t, "qemu-img", "qemu-utils")
	path := filepath.Join(t.TempDir(), "blank.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", path, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	return path
}

// Provisioner plans c for the lab host, with fresh secrets and seeds.
func Provisioner(t testing.TB, conn *virt.Conn, c *spec.Cluster) (*virt.Provisioner, *state.Secrets) {
	t.Helper()
	nodes, err := artifacts.Nodes(c)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	secrets, err := state.Ensure(filepath.Join(t.TempDir(), c.Name), c.Name, names)
	if err != nil {
		t.Fatal(err)
	}
	host, _, err := conn.Host(c.Hypervisor.Accelerator)
	if err != nil {
		t.Fatal(err)
	}
	p := &virt.Provisioner{Conn: conn, Cluster: c, Nodes: nodes, Host: host, Image: virt.FileImage(c.Image.Source),
		Hashes: map[string]string{}, Seeds: map[string][]byte{}, Parallel: 4, Log: t.Logf}
	for _, n := range nodes {
		p.Hashes[n.Name] = artifacts.NodeHash(c, n)
		p.Seeds[n.Name] = []byte("seed of " + n.Name) // these nodes never boot
	}
	t.Cleanup(func() {
		td := &virt.Teardown{Conn: conn, Cluster: c.Name, LocalLogs: true}
		if err := td.Run(context.Background()); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return p, secrets
}

// EnsureAll runs every provisioning step but the SSH wait.
func EnsureAll(ctx context.Context, p *virt.Provisioner) error {
	steps := []func(context.Context) error{p.EnsureNetwork, p.EnsurePool, p.EnsureImage,
		func(ctx context.Context) error { _, err := p.CheckDrift(ctx); return err },
		p.EnsureDisks, p.EnsureSeeds, p.EnsureDomains, p.Start}
	for _, s := range steps {
		if err := s(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Image is the lab's node image, built by Main before the tests entered
// the namespace (provision/lab/image.sh, cached by its recipe).
func Image(t testing.TB) string {
	t.Helper()
	p := os.Getenv("KPROV_LAB_IMAGE")
	if p == "" {
		t.Fatal("no lab image: run the tests through labtest.Main")
	}
	return p
}

// Guest runs a command on a node over SSH, trusting only its pinned key.
func Guest(t testing.TB, s *state.Secrets, n plan.Node, command string) string {
	t.Helper()
	pinned, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s.HostKeys[n.Name].Public))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(s.SSHPrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ClientConfig{User: "kprov", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(pinned), Timeout: 20 * time.Second}
	c, err := ssh.Dial("tcp", net.JoinHostPort(n.IP.String(), "22"), cfg)
	if err != nil {
		t.Fatalf("%s: ssh: %v", n.Name, err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(command)
	if err != nil {
		t.Fatalf("%s: %s: %v\n%s", n.Name, command, err, out)
	}
	return strings.TrimSpace(string(out))
}

// repoRoot is the folder holding go.mod, above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

// RestartLibvirtd stops the lab's libvirtd and starts it again, as a host
// upgrade or a crash would; VMs keep running. It returns once virsh
// answers again.
func RestartLibvirtd(t testing.TB) {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, "provision", "lab", "lab.sh"), "restart-libvirtd")
	cmd.Env = append(os.Environ(), "KPROV_LAB_NETNS="+os.Getenv(NSEnv))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lab.sh restart-libvirtd: %v\n%s", err, out)
	}
}
