package virt_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/provision/cloudinit"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/seed"
	"github.com/kprov/kprov/provision/state"
	"github.com/kprov/kprov/provision/virt"
)

// labImage builds (or reuses, cached by recipe) the lab's node image from
// Debian's packages with provision/lab/image.sh.
func labImage(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KPROV_LAB_IMAGE"); p != "" {
		return p
	}
	script, _ := filepath.Abs("../lab/image.sh")
	start := time.Now()
	out, err := exec.Command("bash", script).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("image.sh: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	path := strings.Fields(lines[len(lines)-1])[0]
	t.Logf("lab image %s ready in %s", path, time.Since(start).Round(time.Second))
	return path
}

// guest runs a command on a node over SSH, trusting only its pinned key.
func guest(t *testing.T, s *state.Secrets, n plan.Node, command string) string {
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

// Two VMs from the lab image boot under software emulation; cloud-init
// applies kprov's seed (host name, NIC renamed eth0 with the planned MTU
// and address, authorized key, pinned host key); the boot disk is NVMe.
func TestBootToSSH(t *testing.T) {
	needLab(t)
	image := labImage(t)
	conn := dial(t)
	c := testSpec(t, "boot", image, "")
	p, secrets := provisioner(t, conn, c)
	for _, n := range p.Nodes {
		files, err := cloudinit.Files(c, n, secrets)
		if err != nil {
			t.Fatal(err)
		}
		if p.Seeds[n.Name], err = seed.ISO(files); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	start := time.Now()
	if err := ensureAll(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Logf("defined and started %d nodes in %s", len(p.Nodes), time.Since(start).Round(time.Millisecond))
	w := &virt.Waiter{Secrets: secrets, User: "kprov", Host: p.Host, Timeout: c.BootTimeout(), Log: t.Logf,
		ConsoleTail: func(n plan.Node) string { return virt.FileTail(plan.ConsoleLog(p.Host, n), 30) }}
	if err := w.Wait(ctx, p.Nodes); err != nil {
		t.Fatal(err)
	}
	t.Logf("all nodes answered SSH %s after start", time.Since(start).Round(time.Second))
	for _, n := range p.Nodes {
		if got := guest(t, secrets, n, "hostname"); got != n.Name {
			t.Errorf("%s: hostname %q", n.Name, got)
		}
		if got := guest(t, secrets, n, "cat /sys/class/net/eth0/mtu"); got != "1400" {
			t.Errorf("%s: eth0 MTU %q, want 1400", n.Name, got)
		}
		if got := guest(t, secrets, n, "ip -4 -o addr show dev eth0"); !strings.Contains(got, n.IP.String()+"/24") {
			t.Errorf("%s: eth0 addresses %q, want %s/24", n.Name, got, n.IP)
		}
		if got := guest(t, secrets, n, "cat /sys/class/net/eth0/address"); got != n.MAC {
			t.Errorf("%s: eth0 MAC %q, want %s", n.Name, got, n.MAC)
		}
		if got := guest(t, secrets, n, "findmnt -no SOURCE /"); !strings.HasPrefix(got, "/dev/nvme0n1") {
			t.Errorf("%s: root on %q, want an NVMe device", n.Name, got)
		}
	}
	again, _ := provisioner(t, conn, c)
	again.Seeds = p.Seeds
	if err := ensureAll(ctx, again); err != nil {
		t.Fatal(err)
	}
	if again.Mutations() != 0 {
		t.Errorf("up on the running cluster made %d changes, want 0", again.Mutations())
	}
}
