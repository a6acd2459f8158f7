package remote_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/judge"
)

// Eight hosts at most three at a time: every command runs as root through
// sudo, one connection per node carries many sessions, and every node's
// failure comes back, sorted.
func TestFanOut(t *testing.T) {
	user := needHosts(t)
	l := newLab(t, 8, user, nil)
	ctx := ctxT(t, time.Minute)
	var running, peak atomic.Int32
	err := remote.Each(ctx, l.Nodes, 3, func(ctx context.Context, n *remote.Conn) error {
		c := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
		}
		out, err := n.Run(ctx, "id -u; echo $SUDO_USER")
		if err != nil {
			return err
		}
		if out != "0\n"+user+"\n" {
			return fmt.Errorf("not root through sudo: %q", out)
		}
		return nil
	})
	if err != nil || peak.Load() > 3 {
		t.Fatalf("fan-out: %v (peak %d, limit 3)", err, peak.Load())
	}

	// Sessions multiplexed: 20 concurrent commands on one node.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := l.Nodes[0].Run(ctx, fmt.Sprintf("sleep 0.2; echo %d", i))
			if err == nil && out != fmt.Sprintf("%d\n", i) {
				err = fmt.Errorf("output %q", out)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}

	// Two nodes fail; the others still run; both failures are reported.
	for _, i := range []int{5, 2} {
		os.WriteFile(filepath.Join(l.Hosts[i].Dir, "fail"), nil, 0o644)
	}
	var ran atomic.Int32
	err = remote.Each(ctx, l.Nodes, 3, func(ctx context.Context, n *remote.Conn) error {
		ran.Add(1)
		_, err := n.Run(ctx, fmt.Sprintf("if [ -e %s/fail ]; then echo broken >&2; exit 3; fi", l.Hosts[nodeIndex(l, n)].Dir))
		return err
	})
	var es remote.NodeErrors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Node != "node-12" || es[1].Node != "node-15" || ran.Load() != 8 {
		t.Fatalf("want node-12 and node-15 failed, all 8 ran (%d): %v", ran.Load(), err)
	}
	var re *remote.RunError
	if !errors.As(es[0], &re) || re.ExitCode != 3 || re.Output != "broken" {
		t.Errorf("run error: %#v", es[0].Err)
	}
	for _, h := range l.Hosts {
		log := readLog(t, l, h.Name)
		if n := strings.Count(log, "connected to"); n != 1 {
			t.Errorf("%s connected %d times, want one persistent connection", h.Name, n)
		}
	}
}

func nodeIndex(l *lab, n *remote.Conn) int {
	for i, x := range l.Nodes {
		if x == n {
			return i
		}
	}
	panic("unknown node")
}

func readLog(t *testing.T, l *lab, node string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.LogDir, node+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A host answering with another key is refused at once, naming the node
// and both fingerprints; nothing runs, and no retry hides it.
func TestHostKeyMismatch(t *testing.T) {
	user := needHosts(t)
	l := newLab(t, 1, user, nil)
	_, other := judge.SSHKey(t, filepath.Join(t.TempDir(), "other"))
	tg := l.Hosts[0].Target()
	tg.HostKey = other.PublicKey()
	n, err := l.Engine.Node(tg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = n.Run(ctxT(t, time.Minute), "touch "+l.Hosts[0].Dir+"/ran")
	var hke *remote.HostKeyError
	if !errors.As(err, &hke) || time.Since(start) > 5*time.Second {
		t.Fatalf("want a HostKeyError at once, got %v after %s", err, time.Since(start))
	}
	got, want := ssh.FingerprintSHA256(l.Hosts[0].HostKey), ssh.FingerprintSHA256(other.PublicKey())
	for _, s := range []string{"node node-10 ", got, want, "refusing to connect"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error lacks %q: %v", s, err)
		}
	}
	if _, err := os.Stat(l.Hosts[0].Dir + "/ran"); err == nil {
		t.Error("the command ran on a host with the wrong key")
	}
	if _, err := l.Engine.Node(remote.Target{Name: "x", Addr: tg.Addr}); err == nil {
		t.Error("a target without a pinned key was accepted")
	}
}

// A command that outlives its context is cut off and reported as
// interrupted, within a bounded time.
func TestCancel(t *testing.T) {
	user := needHosts(t)
	l := newLab(t, 1, user, nil)
	// Stopped while connecting: nothing ran, and the error says why.
	stopped, stop := context.WithCancel(context.Background())
	stop()
	if _, err := l.Nodes[0].Run(stopped, "touch "+l.Hosts[0].Dir+"/ran"); !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "before running anything") {
		t.Errorf("a command whose context ended before it connected: %v", err)
	}
	// Connected first, so that a loaded host's slow handshake is not
	// what the deadline cuts.
	if _, err := l.Nodes[0].Run(ctxT(t, 30*time.Second), "true"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Nodes[0].Run(ctx, "sleep 30")
	var ie *remote.InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 8*time.Second {
		t.Fatalf("want an InterruptedError for the deadline, got %v after %s", err, time.Since(start))
	}
	if out, err := l.Nodes[0].Run(ctxT(t, 30*time.Second), "echo next"); err != nil || out != "next\n" {
		t.Errorf("after a cancelled command: %q %v", out, err)
	}
}
