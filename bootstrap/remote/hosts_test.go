package remote_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/internal/sshdtest"
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

// host is an sshd on 10.91.0.<i>:22 in the test namespace, with its own
// folder (Dir) that commands can use as the node's disk.
type host struct {
	t       *testing.T
	Name    string
	Addr    string
	Dir     string
	HostKey ssh.PublicKey
	sshd    *sshdtest.Server
}

// startHost starts host i, letting in root and the test user with client.
func startHost(t *testing.T, i int, client ssh.PublicKey) *host {
	t.Helper()
	s := judge.StartSSHD(t, sshdtest.Config{Listen: fmt.Sprintf("10.91.0.%d:22", i), Loopback: true,
		AuthorizedKeys: ssh.MarshalAuthorizedKey(client)})
	h := &host{t: t, Name: fmt.Sprintf("node-%d", i), Addr: s.Addr, Dir: filepath.Join(s.Dir, "disk"), HostKey: s.HostKey, sshd: s}
	if err := os.Mkdir(h.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return h
}

// Target is the host as the engine sees it.
func (h *host) Target() remote.Target {
	return remote.Target{Name: h.Name, Addr: h.Addr, HostKey: h.HostKey}
}

// Start runs sshd again after Kill and waits until it listens. It may be
// called from another goroutine than the test's.
func (h *host) Start() {
	if err := h.sshd.Start(); err != nil {
		h.t.Error(err)
	}
}

// Kill kills sshd and every process it started (connection handlers and
// the commands under them), by PID: a node that goes away mid-command.
func (h *host) Kill() { h.sshd.Kill() }

// lab is n hosts and an engine logged in as user with a fresh key.
type lab struct {
	Hosts  []*host
	Nodes  []*remote.Conn
	Engine *remote.Engine
	Key    []byte // the client's private key (PEM)
	LogDir string
}

func newLab(t *testing.T, n int, user string, edit func(*remote.Config)) *lab {
	t.Helper()
	pem, signer := judge.SSHKey(t, filepath.Join(t.TempDir(), "id"))
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
