package remote

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Target is one node: its name, address (host:port) and pinned host key.
type Target struct {
	Name    string
	Addr    string
	HostKey ssh.PublicKey
}

// Bastion is a jump host: kprov logs in to it with its pinned host key,
// then tunnels to each node through it.
type Bastion struct {
	Addr    string
	User    string
	HostKey ssh.PublicKey
	// Auth is how to log in to the bastion; nil means Config.Auth.
	Auth []ssh.AuthMethod
}

// pinned checks a host's key against want on every handshake.
func pinned(name string, want ssh.PublicKey, bastion bool) ssh.HostKeyCallback {
	return func(_ string, _ net.Addr, got ssh.PublicKey) error {
		if !bytes.Equal(got.Marshal(), want.Marshal()) {
			return &HostKeyError{Node: name, Want: ssh.FingerprintSHA256(want), Got: ssh.FingerprintSHA256(got), Bastion: bastion}
		}
		return nil
	}
}

// hostKeyAlgorithms makes the server show the key type that is pinned,
// when it has several.
func hostKeyAlgorithms(k ssh.PublicKey) []string {
	if k.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{k.Type()}
}

func clientConfig(user string, auth []ssh.AuthMethod, name string, key ssh.PublicKey, bastion bool, timeout time.Duration) *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User:              user,
		Auth:              auth,
		HostKeyCallback:   pinned(name, key, bastion),
		HostKeyAlgorithms: hostKeyAlgorithms(key),
		Timeout:           timeout,
	}
}

// handshake runs the SSH handshake on conn, bounded by ctx and timeout.
func handshake(ctx context.Context, conn net.Conn, addr string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	deadline := time.Now().Add(cfg.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	stop()
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}

// permanent reports errors that retrying cannot fix: a wrong host key or
// a refused login.
func permanent(err error) bool {
	var hke *HostKeyError
	if errors.As(err, &hke) {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "unable to authenticate")
}
