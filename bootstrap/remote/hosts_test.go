package remote_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/proctree"
)

// needHosts skips under -short; otherwise the test runs in the namespace
// TestMain made, and returns the non-root login user.
func needHosts(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs real sshd hosts in a network namespace; skipped with -short")
	}
	if os.Getenv(nsEnv) == "" {
		t.Fatal("not running inside the test's network namespace")
	}
	return os.Getenv(userEnv)
}

// newKey writes an ed25519 private key (OpenSSH PEM) and returns its PEM
// and signer.
func newKey(t testing.TB, path string) ([]byte, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(block)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return data, signer
}

// host is an sshd on 10.91.0.<i>:22 in the test namespace, with its own
// folder (Dir) that commands can use as the node's disk.
type host struct {
	t       *testing.T
	Name    string
	Addr    string
	Dir     string
	HostKey ssh.PublicKey
	cfg     string

	mu   sync.Mutex
	cmd  *exec.Cmd
	logs syncBuffer
}

// syncBuffer collects sshd's messages.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startHost starts host i, letting in root and the test user with client.
func startHost(t *testing.T, i int, client ssh.PublicKey) *host {
	t.Helper()
	ip := fmt.Sprintf("10.91.0.%d", i)
	if out, err := exec.Command("ip", "addr", "replace", ip+"/32", "dev", "lo").CombinedOutput(); err != nil {
		t.Fatalf("ip addr: %v\n%s", err, out)
	}
	dir := t.TempDir()
	// sshd reads authorized_keys as the user logging in.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	_, hk := newKey(t, filepath.Join(dir, "host_key"))
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, ssh.MarshalAuthorizedKey(client), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &host{t: t, Name: fmt.Sprintf("node-%d", i), Addr: ip + ":22", Dir: filepath.Join(dir, "disk"), HostKey: hk.PublicKey(), cfg: filepath.Join(dir, "sshd_config")}
	os.Mkdir(h.Dir, 0o755)
	os.WriteFile(h.cfg, []byte(fmt.Sprintf("ListenAddress %s\nHostKey %s/host_key\nPidFile none\nUsePAM no\n"+
		"PermitRootLogin prohibit-password\nStrictModes no\nAuthorizedKeysFile %s\nMaxStartups 100\nLogLevel INFO\n"+
		"AllowTcpForwarding yes\n", h.Addr, dir, auth)), 0o600)
	os.MkdirAll("/run/sshd", 0o755)
	h.Start()
	t.Cleanup(func() {
		h.Kill()
		if t.Failed() {
			t.Logf("sshd %s said:\n%s", h.Name, h.logs.String())
		}
	})
	return h
}

// Target is the host as the engine sees it.
func (h *host) Target() remote.Target {
	return remote.Target{Name: h.Name, Addr: h.Addr, HostKey: h.HostKey}
}

// Start runs sshd and waits until it accepts connections.
func (h *host) Start() {
	h.t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	cmd := exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", h.cfg)
	cmd.Stderr = &h.logs
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.cmd = cmd
	for range 100 {
		c, err := net.DialTimeout("tcp", h.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("sshd on %s did not listen within 2s", h.Addr)
}

// Kill kills sshd and every process it started (connection handlers and
// the commands under them), by PID: a node that goes away mid-command.
func (h *host) Kill() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return
	}
	proctree.Kill(h.cmd.Process.Pid)
	h.cmd.Wait()
	h.cmd = nil
}

// lab is n hosts and an engine logged in as user with a fresh key.
type lab struct {
	Hosts  []*host
	Nodes  []*remote.Node
	Engine *remote.Engine
	Key    []byte // the client's private key (PEM)
	LogDir string
}

func newLab(t *testing.T, n int, user string, edit func(*remote.Config)) *lab {
	t.Helper()
	pem, signer := newKey(t, filepath.Join(t.TempDir(), "id"))
	l := &lab{Key: pem, LogDir: filepath.Join(t.TempDir(), "logs")}
	for i := range n {
		l.Hosts = append(l.Hosts, startHost(t, 10+i, signer.PublicKey()))
	}
	cfg := remote.Config{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, LogDir: l.LogDir,
		Timeout: 5 * time.Second, Reconnect: 20 * time.Second, MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	if edit != nil {
		edit(&cfg)
	}
	l.Engine = remote.New(cfg)
	t.Cleanup(func() { l.Engine.Close() })
	for _, h := range l.Hosts {
		node, err := l.Engine.Node(h.Target())
		if err != nil {
			t.Fatal(err)
		}
		l.Nodes = append(l.Nodes, node)
	}
	return l
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
