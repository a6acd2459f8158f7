package virt_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/artifacts"
	"github.com/kprov/kprov/provision/judge"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
	"github.com/kprov/kprov/provision/virt"
)

// nsEnv names the network namespace a test binary runs in. TestMain starts
// a real libvirtd in a namespace of its own (provision/lab/lab.sh), runs
// the tests again inside it, and removes it all afterwards: libvirt's
// networks, the VMs and every SSH connection stay in that namespace.
const nsEnv = "KPROV_TEST_NETNS"

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() || os.Getenv(nsEnv) != "" {
		os.Exit(m.Run())
	}
	os.Exit(inLab())
}

func inLab() int {
	ns := fmt.Sprintf("kprov-test-%d", os.Getpid())
	lab, err := filepath.Abs("../lab/lab.sh")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env := append(os.Environ(), "KPROV_LAB_NETNS="+ns)
	run := func(args ...string) error {
		cmd := exec.Command("bash", append([]string{lab}, args...)...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, os.Stderr, os.Stderr
		return cmd.Run()
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
	cmd.Env = append(env, nsEnv+"="+ns)
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

// needLab skips under -short; otherwise the test runs in the lab namespace.
func needLab(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a real libvirtd; skipped with -short")
	}
	if os.Getenv(nsEnv) == "" {
		t.Fatal("not running inside the test's lab namespace")
	}
}

func dial(t testing.TB) *virt.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := virt.Dial(ctx, "qemu:///system", virt.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// virsh runs virsh against the lab's libvirtd.
func virsh(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("virsh", append([]string{"-c", "qemu:///system"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// testSpec is a small cluster on an isolated network, its pool in a
// folder QEMU can reach (commandline NVMe disks are not relabelled).
func testSpec(t testing.TB, name, image, extra string) *spec.Cluster {
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

// blankImage is a small empty qcow2: enough to define and start domains
// that never boot.
func blankImage(t testing.TB) string {
	t.Helper()
	judge.Need(t, "qemu-img", "qemu-utils")
	path := filepath.Join(t.TempDir(), "blank.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", path, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	return path
}

// provisioner plans c for the lab host, with fresh secrets and seeds.
func provisioner(t testing.TB, conn *virt.Conn, c *spec.Cluster) (*virt.Provisioner, *state.Secrets) {
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

// ensureAll runs every provisioning step but the SSH wait.
func ensureAll(ctx context.Context, p *virt.Provisioner) error {
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
