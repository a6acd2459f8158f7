package remote

import (
	"crypto/ed25519"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// A peer that answers the probes keeps its connection; one that stops
// answering has it closed within two intervals (over loopback).
func TestKeepAlive(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var silent atomic.Bool
	var probes atomic.Int32
	go func() {
		srvConn, err := ln.Accept()
		if err != nil {
			return
		}
		defer srvConn.Close()
		cfg := &ssh.ServerConfig{NoClientAuth: true}
		cfg.AddHostKey(signer)
		_, chans, reqs, err := ssh.NewServerConn(srvConn, cfg)
		if err != nil {
			return
		}
		go func() {
			for ch := range chans {
				ch.Reject(ssh.Prohibited, "no channels")
			}
		}()
		for r := range reqs {
			probes.Add(1)
			if !silent.Load() {
				r.Reply(false, nil) // OpenSSH's answer to keepalive@openssh.com
			}
		}
	}()
	cliConn, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sc, chans, reqs, err := ssh.NewClientConn(cliConn, "pipe", &ssh.ClientConfig{User: "kprov", HostKeyCallback: ssh.FixedHostKey(signer.PublicKey())})
	if err != nil {
		t.Fatal(err)
	}
	c := ssh.NewClient(sc, chans, reqs)
	defer c.Close()
	closed := make(chan struct{})
	go func() {
		c.Wait()
		close(closed)
	}()

	interval := 50 * time.Millisecond
	keepAlive(c, interval)
	select {
	case <-closed:
		t.Fatal("closed a connection whose peer answers")
	case <-time.After(10 * interval):
	}
	if n := probes.Load(); n < 3 {
		t.Fatalf("%d probes in 10 intervals", n)
	}
	silent.Store(true)
	start := time.Now()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("a peer that stopped answering still has its connection after 5 s")
	}
	if d := time.Since(start); d > 2*interval+500*time.Millisecond {
		t.Fatalf("closed %s after the peer went silent, want about two intervals", d)
	}
}
