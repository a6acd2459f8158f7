package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Config is what every node connection of an Engine shares.
type Config struct {
	// User logs in; commands run as root through sudo -n unless it is root.
	User string
	Auth []ssh.AuthMethod
	// Bastion, when set, is the jump host every node is reached through.
	Bastion *Bastion
	// LogDir holds one log per node (<node>.log); empty logs nothing.
	LogDir string
	// Echo, when set, also receives every log entry, "node| line", as it
	// happens (kprov -v): the commands and their output, redacted.
	Echo io.Writer
	// Secrets are replaced by [REDACTED] in logs and error messages.
	Secrets []string
	// Timeout bounds one TCP dial and SSH handshake (default 15s).
	Timeout time.Duration
	// Reconnect bounds how long connecting retries, with backoff from
	// MinBackoff doubling to MaxBackoff (defaults 60s, 250ms, 5s).
	Reconnect, MinBackoff, MaxBackoff time.Duration
	// KeepAlive is how often an idle connection is probed; a probe not
	// answered within KeepAlive closes it (default 15s).
	KeepAlive time.Duration
	// Dial opens TCP connections (default net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Now is the clock of the logs (default time.Now).
	Now func() time.Time
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, 15*time.Second)
	def(&c.Reconnect, 60*time.Second)
	def(&c.MinBackoff, 250*time.Millisecond)
	def(&c.MaxBackoff, 5*time.Second)
	def(&c.KeepAlive, 15*time.Second)
	if c.Dial == nil {
		c.Dial = (&net.Dialer{Timeout: c.Timeout}).DialContext
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Engine holds the connections to a cluster's nodes (and its bastion).
type Engine struct {
	cfg    Config
	redact redactor

	echo *echo

	mu      sync.Mutex
	bastion *ssh.Client
	nodes   []*Conn
}

// New makes an engine; it connects lazily, on each node's first use.
func New(cfg Config) *Engine {
	cfg.defaults()
	e := &Engine{cfg: cfg, redact: newRedactor(cfg.Secrets)}
	if cfg.Echo != nil {
		e.echo = &echo{w: cfg.Echo}
	}
	return e
}

// Redact replaces the engine's secrets in s.
func (e *Engine) Redact(s string) string { return e.redact.String(s) }

// Node returns the connection to the node t names, opening its log.
func (e *Engine) Node(t Target) (*Conn, error) {
	if t.HostKey == nil {
		return nil, fmt.Errorf("node %s: no pinned host key; kprov never trusts an unknown host", t.Name)
	}
	l, err := openLog(e.cfg.LogDir, t.Name, e.redact, e.cfg.Now)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", t.Name, err)
	}
	if l != nil && e.echo != nil {
		l.echo, l.node = e.echo, t.Name
	}
	n := &Conn{e: e, t: t, log: l, sem: make(chan struct{}, maxSessions)}
	e.mu.Lock()
	e.nodes = append(e.nodes, n)
	e.mu.Unlock()
	return n, nil
}

// Close closes every connection and log.
func (e *Engine) Close() error {
	e.mu.Lock()
	nodes, b := e.nodes, e.bastion
	e.nodes, e.bastion = nil, nil
	e.mu.Unlock()
	var errs []error
	for _, n := range nodes {
		n.drop(nil)
		errs = append(errs, n.log.Close())
	}
	if b != nil {
		b.Close()
	}
	return errors.Join(errs...)
}

// bastionClient returns the live bastion connection, dialing it if needed.
func (e *Engine) bastionClient(ctx context.Context) (*ssh.Client, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.bastion != nil {
		return e.bastion, nil
	}
	b := e.cfg.Bastion
	auth := b.Auth
	if auth == nil {
		auth = e.cfg.Auth
	}
	conn, err := e.cfg.Dial(ctx, "tcp", b.Addr)
	if err != nil {
		return nil, fmt.Errorf("bastion %s: %w", b.Addr, err)
	}
	c, err := handshake(ctx, conn, b.Addr, clientConfig(b.User, auth, b.Addr, b.HostKey, true, e.cfg.Timeout))
	if err != nil {
		var hke *HostKeyError
		if errors.As(err, &hke) {
			return nil, hke
		}
		return nil, fmt.Errorf("bastion %s: %w", b.Addr, err)
	}
	e.bastion = c
	keepAlive(c, e.cfg.KeepAlive)
	go func() {
		c.Wait()
		e.mu.Lock()
		if e.bastion == c {
			e.bastion = nil
		}
		e.mu.Unlock()
	}()
	return c, nil
}

// keepAlive probes c every interval and closes it when a probe is not
// answered in time, so a silently dead peer fails the commands on it. It
// ends with c.
func keepAlive(c *ssh.Client, interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		c.Wait()
		cancel()
	}()
	go wait.PollUntilContextCancel(ctx, interval, false, func(ctx context.Context) (bool, error) {
		answered := make(chan struct{})
		go func() {
			c.SendRequest("keepalive@openssh.com", true, nil)
			close(answered)
		}()
		select {
		case <-answered:
			return false, nil
		case <-ctx.Done():
			return true, nil
		case <-time.After(interval):
			c.Close()
			return true, nil
		}
	})
}
