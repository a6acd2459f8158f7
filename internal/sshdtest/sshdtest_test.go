package sshdtest_test

import (
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/internal/sshdtest"
)

// freeAddr is a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func dial(s *sshdtest.Server, signer ssh.Signer) (*ssh.Client, error) {
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	return ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{User: u.Username, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(s.HostKey), Timeout: 5 * time.Second})
}

// The host lets the client key in under its pinned host key; Kill ends
// sshd and the command a session runs; Start brings it back.
func TestLoginKillStart(t *testing.T) {
	_, client := judge.SSHKey(t, filepath.Join(t.TempDir(), "id"))
	s := judge.StartSSHD(t, sshdtest.Config{Listen: freeAddr(t), AuthorizedKeys: ssh.MarshalAuthorizedKey(client.PublicKey())})
	if fi, err := os.Stat(filepath.Join(s.Dir, "host_key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("host key: %v %v, want mode 0600", fi, err)
	}
	c, err := dial(s, client)
	if err != nil {
		t.Fatalf("log in: %v\nsshd said:\n%s", err, s.Logs())
	}
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("echo $$; exec sleep 300"); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 32)
	n, err := out.Read(line)
	pid, perr := strconv.Atoi(strings.TrimSpace(string(line[:n])))
	if err != nil || perr != nil {
		t.Fatalf("the session's PID: %q %v %v", line[:n], err, perr)
	}

	s.Kill()
	c.Close()
	if s.PID() != 0 {
		t.Errorf("PID %d after Kill", s.PID())
	}
	if running(pid) {
		t.Errorf("the session's command (PID %d) outlived Kill", pid)
	}
	if c, err := dial(s, client); err == nil {
		c.Close()
		t.Fatal("logged in with sshd killed")
	}

	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	c, err = dial(s, client)
	if err != nil {
		t.Fatalf("log in after Start: %v", err)
	}
	c.Close()
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("a second Start: %v", err)
	}
}

// running reports whether pid is alive (not gone, not a zombie), waiting
// up to 2 s for it to go.
func running(pid int) bool {
	for range 100 {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		if f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// An sshd that cannot listen is reported with its own words, and not
// left running.
func TestStartFails(t *testing.T) {
	judge.Need(t, "sshd", "openssh-server")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	s, err := sshdtest.Start(sshdtest.Config{Dir: t.TempDir(), Listen: l.Addr().String()})
	if s != nil || err == nil || !strings.Contains(err.Error(), "exited before listening") ||
		!strings.Contains(err.Error(), "Address already in use") {
		t.Errorf("sshd on a taken port: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s", d)
	}
}

// The bench, a program, uses this package: it must not bring in testing.
func TestNoTesting(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/kprov/kprov/internal/sshdtest").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps found only %v", deps)
	}
	for _, d := range deps {
		if d == "testing" {
			t.Errorf("internal/sshdtest depends on testing")
		}
	}
}
