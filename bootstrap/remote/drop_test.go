package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/judge"
)

// steps are five idempotent ensures: each does nothing once its marker
// exists, and notes its start and its completion in files on the host.
// Step 3 takes 30 s while the file "slow" exists.
func steps(dir string) []string {
	var out []string
	for i := 1; i <= 5; i++ {
		body := "true"
		if i == 3 {
			body = fmt.Sprintf("if [ -e %s/slow ]; then sleep 30; fi", dir)
		}
		out = append(out, fmt.Sprintf("cd %s && if [ ! -e done-%d ]; then echo %d >> starts; %s; echo %d >> counter; touch done-%d; fi", dir, i, i, body, i, i))
	}
	return out
}

func runSteps(ctx context.Context, n remote.Node, steps []string) error {
	for _, s := range steps {
		if _, err := n.Run(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// A node that goes away in the middle of a command: the command is
// reported as interrupted and not run again by the engine; the next run
// reconnects with backoff while the node is still down, and the steps
// that had finished are not repeated.
func TestConnectionDrop(t *testing.T) {
	user := needHosts(t)
	l := newLab(t, 1, user, nil)
	n, h := l.Nodes[0], l.Hosts[0]
	ctx := ctxT(t, 2*time.Minute)
	os.WriteFile(filepath.Join(h.Dir, "slow"), nil, 0o644)
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(h.Dir, name))
		return string(b)
	}
	done := make(chan error, 1)
	go func() { done <- runSteps(ctx, n, steps(h.Dir)) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(read("starts"), "3") {
		if time.Now().After(deadline) {
			t.Fatalf("step 3 never started; starts=%q", read("starts"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	killed := time.Now()
	h.Kill()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not notice the dropped connection within 10s")
	}
	var ie *remote.InterruptedError
	if !errors.As(err, &ie) || !strings.Contains(ie.Command, "done-3") {
		t.Fatalf("want step 3 reported as interrupted, got %v", err)
	}
	t.Logf("reported %s after the kill: %v", time.Since(killed).Round(time.Millisecond), err)
	if got := read("starts"); got != "1\n2\n3\n" {
		t.Fatalf("starts %q, want step 3 started once", got)
	}
	if got := read("counter"); got != "1\n2\n" {
		t.Fatalf("counter %q, want steps 1 and 2 done", got)
	}

	// The node comes back 1.5 s later; meanwhile the engine retries.
	os.Remove(filepath.Join(h.Dir, "slow"))
	back := make(chan struct{})
	go func() {
		time.Sleep(1500 * time.Millisecond)
		h.Start()
		close(back)
	}()
	if err := runSteps(ctx, n, steps(h.Dir)); err != nil {
		t.Fatal(err)
	}
	<-back
	if got := read("counter"); got != "1\n2\n3\n4\n5\n" {
		t.Errorf("counter %q: a step ran twice or not at all", got)
	}
	if got := read("starts"); got != "1\n2\n3\n3\n4\n5\n" {
		t.Errorf("starts %q: only step 3, cut off, may start again", got)
	}
	log := readLog(t, l, h.Name)
	if !strings.Contains(log, "interrupted after") || !strings.Contains(log, "connect to "+h.Addr+", attempt 2") ||
		strings.Count(log, "connected to") != 2 {
		t.Errorf("log does not show the drop, the retries and one reconnection:\n%s", log)
	}
}

// Through a bastion: the engine logs in to the jump host with its pinned
// key and reaches the nodes only through it; a wrong bastion key is
// refused, and a node's key is still checked behind the bastion.
func TestBastion(t *testing.T) {
	user := needHosts(t)
	l := newLab(t, 2, user, nil)
	direct := 0
	_, bastionKey := judge.SSHKey(t, filepath.Join(t.TempDir(), "bastion_client"))
	jump := startHost(t, 200, bastionKey.PublicKey())
	ctx := ctxT(t, time.Minute)

	cfg := remote.Config{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(mustSigner(t, l.Key))}, Timeout: 5 * time.Second, Reconnect: 3 * time.Second,
		Bastion: &remote.Bastion{Addr: jump.Addr, User: "root", HostKey: jump.HostKey, Auth: []ssh.AuthMethod{ssh.PublicKeys(bastionKey)}}}
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr != jump.Addr {
			direct++
			return nil, fmt.Errorf("test: direct connection to %s forbidden", addr)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	e := remote.New(cfg)
	defer e.Close()
	for _, h := range l.Hosts {
		n, err := e.Node(h.Target())
		if err != nil {
			t.Fatal(err)
		}
		if out, err := n.Run(ctx, "id -u"); err != nil || out != "0\n" {
			t.Fatalf("%s through the bastion: %q %v", h.Name, out, err)
		}
	}
	if direct != 0 {
		t.Errorf("%d direct connections", direct)
	}
	if !strings.Contains(jump.sshd.Logs(), "Accepted publickey for root") {
		t.Errorf("the bastion saw no login:\n%s", jump.sshd.Logs())
	}

	// A node with a wrong pinned key behind the bastion is refused.
	tg := l.Hosts[0].Target()
	tg.HostKey = jump.HostKey
	n, _ := e.Node(tg)
	var hke *remote.HostKeyError
	if _, err := n.Run(ctx, "true"); !errors.As(err, &hke) || hke.Bastion {
		t.Errorf("wrong node key behind the bastion: %v", err)
	}

	// A bastion answering with another key is refused, naming it.
	cfg.Bastion = &remote.Bastion{Addr: jump.Addr, User: "root", HostKey: l.Hosts[0].HostKey, Auth: cfg.Bastion.Auth}
	e2 := remote.New(cfg)
	defer e2.Close()
	n2, _ := e2.Node(l.Hosts[1].Target())
	_, err := n2.Run(ctx, "true")
	if !errors.As(err, &hke) || !hke.Bastion || !strings.Contains(err.Error(), "bastion "+jump.Addr) ||
		!strings.Contains(err.Error(), ssh.FingerprintSHA256(jump.HostKey)) {
		t.Errorf("wrong bastion key: %v", err)
	}
}

func mustSigner(t *testing.T, pem []byte) ssh.Signer {
	s, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
