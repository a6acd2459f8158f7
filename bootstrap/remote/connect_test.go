package remote

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// failingNode is a node whose every dial fails with err, recording when;
// nothing touches the network.
func failingNode(t *testing.T, cfg Config, err error) (*Conn, func() []time.Time) {
	t.Helper()
	pub, _, kerr := ed25519.GenerateKey(nil)
	if kerr != nil {
		t.Fatal(kerr)
	}
	hk, kerr := ssh.NewPublicKey(pub)
	if kerr != nil {
		t.Fatal(kerr)
	}
	var mu sync.Mutex
	var dials []time.Time
	cfg.User = "kprov"
	cfg.Dial = func(context.Context, string, string) (net.Conn, error) {
		mu.Lock()
		defer mu.Unlock()
		dials = append(dials, time.Now())
		return nil, err
	}
	e := New(cfg)
	t.Cleanup(func() { e.Close() })
	n, nerr := e.Node(Target{Name: "n1", Addr: "n1.invalid:22", HostKey: hk})
	if nerr != nil {
		t.Fatal(nerr)
	}
	return n, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), dials...)
	}
}

// Connecting tries again with pauses doubling from MinBackoff up to
// MaxBackoff, until Reconnect has passed, and says so.
func TestConnectBackoff(t *testing.T) {
	ms := time.Millisecond
	n, dials := failingNode(t, Config{Reconnect: 2 * time.Second, MinBackoff: 25 * ms, MaxBackoff: 100 * ms}, errors.New("no route"))
	start := time.Now()
	_, err := n.connect(context.Background())
	took := time.Since(start)
	want := "node n1: could not connect to n1.invalid:22 within 2s: no route"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if took < 2*time.Second || took > 4*time.Second {
		t.Fatalf("gave up after %s, want Reconnect (2s)", took)
	}
	d := dials()
	// Capped: 25, 50, 100, 100, ... ms: about 22 attempts in 2 s. Without
	// the cap 7, with no growth 80.
	if len(d) < 12 || len(d) > 30 {
		t.Fatalf("%d attempts in 2 s", len(d))
	}
	for i, min := range []time.Duration{25 * ms, 50 * ms, 100 * ms, 100 * ms} {
		if g := d[i+1].Sub(d[i]); g < min {
			t.Fatalf("pause %d was %s, want at least %s", i, g, min)
		}
	}
}

// A refused login is not tried again; a caller's end stops the attempts
// at once and says nothing ran.
func TestConnectStops(t *testing.T) {
	n, dials := failingNode(t, Config{Reconnect: time.Minute}, errors.New("ssh: handshake failed: ssh: unable to authenticate"))
	if _, err := n.connect(context.Background()); err == nil || !strings.Contains(err.Error(), "unable to authenticate") || len(dials()) != 1 {
		t.Fatalf("err = %v after %d attempts, want the refusal after 1", err, len(dials()))
	}

	n, dials = failingNode(t, Config{Reconnect: time.Minute, MinBackoff: 50 * time.Millisecond}, errors.New("no route"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := n.connect(ctx)
	want := "node n1: stopped while connecting to n1.invalid:22, before running anything: context canceled"
	if !errors.Is(err, context.Canceled) || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if took := time.Since(start); took > 5*time.Second || len(dials()) < 2 {
		t.Fatalf("stopped after %s and %d attempts", took, len(dials()))
	}
}
