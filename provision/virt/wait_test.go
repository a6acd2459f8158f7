package virt_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/state"
	"github.com/kprov/kprov/provision/virt"
)

// A booting node can accept a connection and then say nothing, or let
// kprov in and never finish `cloud-init status --wait`. Either way the
// wait ends when its context does: on Ctrl-C at once, on boot_timeout with
// the node named.
func TestWaitEndsWithItsContext(t *testing.T) {
	secrets, err := state.Ensure(filepath.Join(t.TempDir(), "w"), "w", []string{"n1"})
	if err != nil {
		t.Fatal(err)
	}
	node := plan.Node{Name: "n1", IP: netip.MustParseAddr("127.0.0.1")}
	silent := func(c net.Conn) { time.Sleep(time.Minute); c.Close() }
	stuck := func(c net.Conn) { stuckSSH(t, c, secrets.HostKeys["n1"].Private) }
	for _, tc := range []struct {
		name   string
		serve  func(net.Conn)
		cancel bool // Ctrl-C after a second; else the boot timeout (2 s)
	}{
		{"silent, interrupted", silent, true},
		{"silent, timed out", silent, false},
		{"cloud-init never done, interrupted", stuck, true},
		{"cloud-init never done, timed out", stuck, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go tc.serve(c)
				}
			}()
			w := &virt.Waiter{Secrets: secrets, User: "kprov", Timeout: 2 * time.Second,
				Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, ln.Addr().String())
				}}
			if tc.cancel {
				w.Timeout = time.Minute
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				time.AfterFunc(time.Second, cancel)
			}
			start := time.Now()
			err = w.Wait(ctx, []plan.Node{node})
			took := time.Since(start)
			var bte *virt.BootTimeoutError
			switch {
			case took > 5*time.Second:
				t.Errorf("returned after %s: %v", took, err)
			case tc.cancel && !errors.Is(err, context.Canceled):
				t.Errorf("interrupted: %v", err)
			case !tc.cancel && (!errors.As(err, &bte) || bte.Node != "n1"):
				t.Errorf("timed out: %v", err)
			}
			t.Logf("%s after %s", err, took.Round(time.Millisecond))
		})
	}
}

// stuckSSH serves one SSH connection with the node's host key, accepts
// any login and session, and never answers the command.
func stuckSSH(t *testing.T, c net.Conn, hostKey []byte) {
	signer, err := ssh.ParsePrivateKey(hostKey)
	if err != nil {
		t.Error(err)
		return
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(ssh.ConnMetadata, ssh.PublicKey) (*ssh.Permissions, error) { return nil, nil }}
	cfg.AddHostKey(signer)
	_, chans, reqs, err := ssh.NewServerConn(c, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for ch := range chans {
		sess, requests, err := ch.Accept()
		if err != nil {
			return
		}
		go func() {
			for r := range requests {
				r.Reply(r.Type == "exec", nil) // and never an exit status
			}
			sess.Close()
		}()
	}
}

// A node that takes long to answer is reported every Heartbeat, naming
// it, the time elapsed and what the last attempt saw.
func TestWaitHeartbeat(t *testing.T) {
	secrets, err := state.Ensure(filepath.Join(t.TempDir(), "w"), "w", []string{"n1"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close() // nothing listens: every attempt is refused
	var lines []string
	var mu sync.Mutex
	w := &virt.Waiter{Secrets: secrets, User: "kprov", Timeout: 5 * time.Second, Heartbeat: time.Second,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, closed)
		},
		Log: func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			lines = append(lines, fmt.Sprintf(format, args...))
		}}
	err = w.Wait(context.Background(), []plan.Node{{Name: "n1", IP: netip.MustParseAddr("127.0.0.1")}})
	var bt *virt.BootTimeoutError
	if !errors.As(err, &bt) {
		t.Fatalf("err = %v, want a boot timeout", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lines) < 1 || len(lines) > 4 {
		t.Fatalf("%d heartbeat lines in 5 s at one a second (tries every 2 s): %q", len(lines), lines)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "n1: waiting for SSH on 127.0.0.1:22, ") || !strings.Contains(l, "elapsed of 5s") || !strings.Contains(l, "refused") {
			t.Errorf("heartbeat %q", l)
		}
	}
}

// A node answering with a host key kprov did not give it is refused at
// once, not tried again until the boot timeout.
func TestWaitRefusesWrongHostKey(t *testing.T) {
	secrets, err := state.Ensure(filepath.Join(t.TempDir(), "w"), "w", []string{"n1", "other"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go stuckSSH(t, c, secrets.HostKeys["other"].Private)
		}
	}()
	w := &virt.Waiter{Secrets: secrets, User: "kprov", Timeout: 10 * time.Second,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, ln.Addr().String())
		}}
	start := time.Now()
	err = w.Wait(context.Background(), []plan.Node{{Name: "n1", IP: netip.MustParseAddr("127.0.0.1")}})
	took := time.Since(start)
	var hke *virt.HostKeyError
	if !errors.As(err, &hke) || hke.Node != "n1" {
		t.Fatalf("err = %v, want a host key error naming n1", err)
	}
	if took > 5*time.Second {
		t.Fatalf("refused after %s: the wrong key was tried again", took)
	}
}
