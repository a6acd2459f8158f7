package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/internal/retry"
)

var _ Node = (*Conn)(nil)

// maxSessions bounds concurrent sessions on one connection, below
// OpenSSH's default MaxSessions of 10.
const maxSessions = 8

// Conn is one node's persistent, verified connection; sessions are
// multiplexed on it. It reconnects, with backoff, on the next use after
// the connection drops.
type Conn struct {
	e   *Engine
	t   Target
	log *nodeLog
	sem chan struct{}

	mu     sync.Mutex // held while connecting
	client *ssh.Client
}

// Name is the node's name.
func (n *Conn) Name() string { return n.t.Name }

// Logf writes an entry to the node's log.
func (n *Conn) Logf(format string, args ...any) { n.log.Printf(format, args...) }

// connect returns the live connection, dialing with backoff until
// Config.Reconnect has passed. A wrong host key or a refused login is
// returned at once.
func (n *Conn) connect(ctx context.Context) (*ssh.Client, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.client != nil {
		return n.client, nil
	}
	cfg := n.e.cfg
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, cfg.Reconnect)
	defer cancel()
	stopped := func() error { return n.stopped("connecting to "+n.t.Addr, parent.Err()) }
	attempt := 0
	var client *ssh.Client
	err := retry.Do(ctx, retry.Doubling(cfg.MinBackoff, cfg.MaxBackoff), 0, func(ctx context.Context) error {
		attempt++
		c, err := n.dial(ctx)
		if err == nil {
			n.log.Printf("connected to %s (attempt %d)", n.t.Addr, attempt)
			n.client, client = c, c
			keepAlive(c, cfg.KeepAlive)
			go func() {
				c.Wait()
				n.drop(c)
			}()
			return nil
		}
		n.log.Printf("connect to %s, attempt %d: %v", n.t.Addr, attempt, err)
		if parent.Err() != nil {
			return retry.Stop(stopped())
		}
		if permanent(err) {
			return retry.Stop(n.wrap(err))
		}
		return err
	})
	var gave *retry.Error
	switch {
	case err == nil:
		return client, nil
	case !errors.As(err, &gave):
		return nil, err
	case parent.Err() != nil:
		return nil, stopped()
	}
	return nil, n.wrap(fmt.Errorf("could not connect to %s within %s: %w", n.t.Addr, cfg.Reconnect, gave.Last))
}

func (n *Conn) dial(ctx context.Context) (*ssh.Client, error) {
	cfg := n.e.cfg
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var conn net.Conn
	var err error
	if cfg.Bastion != nil {
		var b *ssh.Client
		if b, err = n.e.bastionClient(dctx); err != nil {
			return nil, err
		}
		if conn, err = b.DialContext(dctx, "tcp", n.t.Addr); err != nil {
			return nil, fmt.Errorf("through bastion %s: %w", cfg.Bastion.Addr, err)
		}
	} else if conn, err = cfg.Dial(dctx, "tcp", n.t.Addr); err != nil {
		return nil, err
	}
	return handshake(dctx, conn, n.t.Addr, clientConfig(cfg.User, cfg.Auth, n.t.Name, n.t.HostKey, false, cfg.Timeout))
}

// drop forgets and closes c (any connection when c is nil).
func (n *Conn) drop(c *ssh.Client) {
	n.mu.Lock()
	cur := n.client
	if c == nil || cur == c {
		n.client = nil
	}
	n.mu.Unlock()
	if c == nil {
		c = cur
	}
	if c != nil {
		c.Close()
	}
}

// wrap names the node in an error, once.
func (n *Conn) wrap(err error) error {
	var hke *HostKeyError
	if errors.As(err, &hke) {
		return hke // its message names the host; drop "ssh: handshake failed"
	}
	return fmt.Errorf("node %s: %s", n.t.Name, n.e.redact.String(err.Error()))
}

// stopped is the caller's end (Ctrl-C, a phase deadline) before a
// command started: nothing ran. It wraps err for errors.Is.
func (n *Conn) stopped(while string, err error) error {
	return fmt.Errorf("node %s: stopped while %s, before running anything: %w", n.t.Name, while, err)
}

// session opens a session, reconnecting first if needed. A channel that
// could not be opened ran nothing, so one more try on a fresh connection
// is safe. release must be called when the session is done.
func (n *Conn) session(ctx context.Context) (s *ssh.Session, c *ssh.Client, release func(), err error) {
	select {
	case n.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, nil, n.stopped("waiting for a session", ctx.Err())
	}
	release = func() { <-n.sem }
	reconnects := 0
	for refusals := 0; ; {
		if c, err = n.connect(ctx); err != nil {
			release()
			return nil, nil, nil, err // named by connect
		}
		if s, err = newSession(ctx, c, n.e.cfg.Timeout); err == nil {
			return s, c, release, nil
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			// The server said no, often for a moment: sshd counts a just
			// closed session against MaxSessions until it has reaped it.
			// The connection is fine; wait a little and ask again.
			if refusals++; refusals > 8 {
				break
			}
			select {
			case <-time.After(time.Duration(refusals) * 50 * time.Millisecond):
				continue
			case <-ctx.Done():
				release()
				return nil, nil, nil, n.stopped("opening a session", ctx.Err())
			}
		}
		if reconnects++; reconnects > 1 {
			break
		}
		n.log.Printf("open session: %v; reconnecting", err)
		n.drop(c)
	}
	release()
	return nil, nil, nil, n.wrap(err)
}

// newSession is c.NewSession bounded by ctx and timeout.
func newSession(ctx context.Context, c *ssh.Client, timeout time.Duration) (*ssh.Session, error) {
	type res struct {
		s   *ssh.Session
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := c.NewSession()
		ch <- res{s, err}
	}()
	late := func() {
		if r := <-ch; r.s != nil {
			r.s.Close()
		}
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-ctx.Done():
		go late()
		return nil, ctx.Err()
	case <-t.C:
		go late()
		c.Close()
		return nil, fmt.Errorf("no session opened within %s", timeout)
	}
}

// Upload writes data to path as root (see upload.go).
func (n *Conn) Upload(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	return n.upload(ctx, path, data, mode)
}

// Download reads path as root over SFTP; its content is never logged.
func (n *Conn) Download(ctx context.Context, path string) ([]byte, error) {
	return n.download(ctx, path)
}
