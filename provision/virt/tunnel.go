package virt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// tunnel reaches the remote libvirt socket over SSH, through the host's
// ProxyJump hops when the ssh config names any. Every host's key must
// already be in known_hosts.
func (c *Conn) tunnel(ctx context.Context, u *url.URL, sock string, opts DialOptions) (net.Conn, error) {
	r, err := newSSHResolver(opts.SSHConfig)
	if err != nil {
		return nil, fmt.Errorf("libvirt URI %s: %w", u.Redacted(), err)
	}
	route, err := r.Route(u)
	if err != nil {
		return nil, fmt.Errorf("libvirt URI %s: %w", u.Redacted(), err)
	}
	var via *ssh.Client
	for i, h := range route {
		where := fmt.Sprintf("ProxyJump hop %d (%s)", i+1, h)
		if i == len(route)-1 {
			where = h.String()
		}
		client, err := login(ctx, via, h, where, u.Redacted(), opts)
		if err != nil {
			c.closeSSH()
			return nil, err
		}
		if i < len(route)-1 {
			c.hops = append(c.hops, client)
		} else {
			c.ssh = client
		}
		via = client
	}
	var conn net.Conn
	timedOut, err := bounded(ctx, opts.Timeout, c.ssh, func() (err error) {
		conn, err = c.ssh.Dial("unix", sock)
		return err
	})
	if err != nil || timedOut || ctx.Err() != nil {
		c.closeSSH()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connecting to libvirt at %s: %w", u.Redacted(), ctx.Err())
		}
		if timedOut {
			err = fmt.Errorf("no answer within %s", opts.Timeout)
		}
		return nil, &UnreachableError{URI: u.Redacted(), Err: err, Hint: "SSH works but the remote libvirt socket " + sock + " does not answer"}
	}
	return conn, nil
}

// login opens an SSH connection to h, over via when it is a later hop,
// with the host key checked against known_hosts under h.KeyName().
func login(ctx context.Context, via *ssh.Client, h sshHost, where, uri string, opts DialOptions) (*ssh.Client, error) {
	signers, locked, err := identities(h.Identities)
	if err != nil {
		return nil, fmt.Errorf("libvirt URI %s: %s: %w", uri, where, err)
	}
	auth := opts.Auth
	if len(signers) > 0 {
		// The config's keys first: they are the ones chosen for this host.
		auth = append([]ssh.AuthMethod{ssh.PublicKeys(signers...)}, opts.Auth...)
	}
	if len(auth) == 0 {
		return nil, fmt.Errorf("libvirt URI %s: %s: no SSH key to log in with; %s", uri, where, keyHint(locked))
	}
	kh := knownHostsFiles(opts.KnownHosts, h.KnownHosts)
	check, err := knownhosts.New(kh...)
	if err != nil {
		return nil, fmt.Errorf("libvirt URI %s: %s: known hosts %s: %w; add the host's key with ssh-keyscan first", uri, where, kh[0], err)
	}
	raw, err := dial(ctx, via, h.Addr(), opts.Timeout)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("connecting to libvirt at %s: %w", uri, ctx.Err())
		}
		hint := "check the host name and that sshd runs there"
		if via != nil {
			hint = "the previous hop could not open a connection to it; " + hint
		}
		return nil, &UnreachableError{URI: uri, Err: fmt.Errorf("%s: %w", where, err), Hint: hint}
	}
	cfg := &ssh.ClientConfig{User: h.User, Auth: auth, HostKeyCallback: check}
	var sc ssh.Conn
	var chans <-chan ssh.NewChannel
	var reqs <-chan *ssh.Request
	// The handshake is bounded and ends with ctx: a port that accepts TCP
	// and never speaks SSH must not hang kprov.
	timedOut, err := bounded(ctx, opts.Timeout, raw, func() (err error) {
		sc, chans, reqs, err = ssh.NewClientConn(raw, h.KeyName(), cfg)
		return err
	})
	if err == nil && (timedOut || ctx.Err() != nil) {
		sc.Close()
		err = errors.New("closed")
	}
	if err != nil {
		raw.Close()
		var ke *knownhosts.KeyError
		switch {
		case errors.As(err, &ke):
			return nil, fmt.Errorf("libvirt URI %s: %s: host key not trusted under the name %s (%v); check it and add it to %s", uri, where, h.KeyName(), err, kh[0])
		case ctx.Err() != nil:
			return nil, fmt.Errorf("connecting to libvirt at %s: %w", uri, ctx.Err())
		case timedOut:
			return nil, &UnreachableError{URI: uri, Err: fmt.Errorf("no SSH answer from %s within %s", where, opts.Timeout), Hint: "something accepts TCP there but does not speak SSH; check the host and port"}
		}
		hint := "SSH login as " + h.User + " failed"
		if len(locked) > 0 {
			hint += "; " + keyHint(locked)
		}
		return nil, &UnreachableError{URI: uri, Err: fmt.Errorf("%s: %w", where, err), Hint: hint}
	}
	return ssh.NewClient(sc, chans, reqs), nil
}

// dial opens TCP to addr: from here for the first hop, else through via.
func dial(ctx context.Context, via *ssh.Client, addr string, timeout time.Duration) (net.Conn, error) {
	if via == nil {
		d := net.Dialer{Timeout: timeout}
		return d.DialContext(ctx, "tcp", addr)
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := via.DialContext(tctx, "tcp", addr)
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no connection to %s within %s", addr, timeout)
	}
	return conn, err
}

// bounded runs fn, closing cl when timeout passes or ctx ends first; it
// reports whether the timeout fired. go-libvirt and x/crypto/ssh calls
// take no context, and channel connections take no deadline.
func bounded(ctx context.Context, timeout time.Duration, cl io.Closer, fn func() error) (bool, error) {
	timer := time.AfterFunc(timeout, func() { cl.Close() })
	stop := context.AfterFunc(ctx, func() { cl.Close() })
	err := fn()
	stop()
	return !timer.Stop(), err
}

// identities reads IdentityFile keys. Encrypted ones are left to ssh-agent
// and returned in locked; missing ones are skipped, as ssh does.
func identities(files []string) (signers []ssh.Signer, locked []string, err error) {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("IdentityFile %s: %w", f, err)
		}
		s, err := ssh.ParsePrivateKey(b)
		var pm *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &pm):
			locked = append(locked, f)
		case err != nil:
			return nil, nil, fmt.Errorf("IdentityFile %s: %w", f, err)
		default:
			signers = append(signers, s)
		}
	}
	return signers, locked, nil
}

// keyHint says how to give kprov a key it can use.
func keyHint(locked []string) string {
	if len(locked) > 0 {
		return fmt.Sprintf("IdentityFile %s is encrypted and kprov does not ask for passphrases: load it into ssh-agent (ssh-add %s)",
			strings.Join(locked, ", "), strings.Join(locked, " "))
	}
	return "start ssh-agent with your key, keep it in ~/.ssh/id_ed25519, or name it with IdentityFile in ~/.ssh/config"
}

// knownHostsFiles is where host keys are pinned: the explicit file, else
// the config's existing UserKnownHostsFile entries, else ~/.ssh/known_hosts.
func knownHostsFiles(explicit string, fromConfig []string) []string {
	if explicit != "" {
		return []string{explicit}
	}
	files := fromConfig
	if len(files) == 0 {
		home, _ := os.UserHomeDir()
		files = []string{filepath.Join(home, ".ssh", "known_hosts")}
	}
	var have []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			have = append(have, f)
		}
	}
	if len(have) == 0 {
		return files[:1] // knownhosts.New names it in its error
	}
	return have
}

// closeSSH closes the hypervisor's SSH connection, then the hops'.
func (c *Conn) closeSSH() {
	if c.ssh != nil {
		c.ssh.Close()
	}
	for i := len(c.hops) - 1; i >= 0; i-- {
		c.hops[i].Close()
	}
}
