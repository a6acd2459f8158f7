package virt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/internal/retry"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/state"
)

// Waiter waits until nodes answer SSH with the host keys kprov gave them.
type Waiter struct {
	Secrets *state.Secrets
	User    string
	Host    plan.Host
	// Timeout bounds the wait for each node.
	Timeout time.Duration
	// ConsoleTail reads the end of a node's serial console log for error
	// messages; nil when the log is not reachable (remote hypervisor).
	ConsoleTail func(n plan.Node) string
	// Dial opens TCP connections (default net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	Log  func(format string, args ...any)
	// Heartbeat is how often a node still waited for is reported
	// (default a minute), so a long boot is visibly alive.
	Heartbeat time.Duration
}

// HostKeyError is a node that answered with a key kprov did not give it.
type HostKeyError struct {
	Node, Want, Got string
}

func (e *HostKeyError) Error() string {
	return fmt.Sprintf("node %s answered with host key %s, but kprov gave it %s: refusing to connect (if the node was rebuilt outside kprov, remove it and run `kprov up` again)", e.Node, e.Got, e.Want)
}

// BootTimeoutError is a node that never answered SSH.
type BootTimeoutError struct {
	Node    string
	Address string
	After   time.Duration
	Last    error
	Console string
}

func (e *BootTimeoutError) Error() string {
	msg := fmt.Sprintf("node %s did not answer SSH on %s within %s (last error: %v)", e.Node, e.Address, e.After, e.Last)
	if e.Console != "" {
		msg += "; end of its serial console:\n" + e.Console
	}
	return msg + "\nRaise hypervisor.boot_timeout if the host is slow, or check the image boots."
}

// Wait waits for every node concurrently.
func (w *Waiter) Wait(ctx context.Context, nodes []plan.Node) error {
	return eachNode(ctx, nodes, len(nodes), w.waitOne)
}

func (w *Waiter) waitOne(ctx context.Context, n plan.Node) error {
	hk, ok := w.Secrets.HostKeys[n.Name]
	if !ok {
		return fmt.Errorf("no host key in the state folder")
	}
	want, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hk.Public))
	if err != nil {
		return fmt.Errorf("host key in the state folder: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(w.Secrets.SSHPrivateKey)
	if err != nil {
		return fmt.Errorf("client key: %w", err)
	}
	addr := net.JoinHostPort(n.IP.String(), "22")
	cfg := &ssh.ClientConfig{
		User: w.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(_ string, _ net.Addr, got ssh.PublicKey) error {
			if !bytes.Equal(got.Marshal(), want.Marshal()) {
				return &HostKeyError{Node: n.Name, Want: ssh.FingerprintSHA256(want), Got: ssh.FingerprintSHA256(got)}
			}
			return nil
		},
		Timeout: 10 * time.Second,
	}
	dial := w.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	beat := w.Heartbeat
	if beat == 0 {
		beat = time.Minute
	}
	next := start.Add(beat)
	err = retry.Do(ctx, retry.Every(2*time.Second), 0, func(ctx context.Context) error {
		err := w.try(ctx, dial, addr, cfg)
		if err != nil && w.Log != nil && time.Now().After(next) {
			next = next.Add(beat)
			w.Log("%s: waiting for SSH on %s, %s elapsed of %s (last: %v)", n.Name, addr, time.Since(start).Round(time.Second), w.Timeout, err)
		}
		var hke *HostKeyError
		var cie *CloudInitError
		switch {
		case errors.As(err, &cie):
			cie.Node = n.Name
			return retry.Stop(cie)
		case errors.As(err, &hke):
			return retry.Stop(hke)
		}
		return err
	})
	var gave *retry.Error
	switch {
	case err == nil:
		if w.Log != nil {
			w.Log("%s: SSH answered on %s with its pinned host key after %s", n.Name, addr, time.Since(start).Round(time.Second))
		}
		return nil
	case !errors.As(err, &gave):
		return err // cloud-init's errors, a wrong host key
	case errors.Is(gave.Err, context.Canceled):
		return gave.Err
	}
	e := &BootTimeoutError{Node: n.Name, Address: addr, After: w.Timeout, Last: gave.Last}
	if w.ConsoleTail != nil {
		e.Console = w.ConsoleTail(n)
	}
	return e
}

// CloudInitError is a node whose cloud-init finished with errors.
type CloudInitError struct {
	Node   string
	Output string
}

func (e *CloudInitError) Error() string {
	return fmt.Sprintf("node %s: cloud-init failed:\n%s\nSee /var/log/cloud-init.log on the node (kprov ssh arrives with the SSH issue; until then ssh in with the state folder's key).", e.Node, e.Output)
}

// try logs in and waits for cloud-init to finish: it restarts sshd on
// stock images after SSH first answers, so a node is ready only then. It
// gives up when ctx ends, whatever the node does: the handshake has a
// deadline and the connection is closed under a command that still runs.
func (w *Waiter) try(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), addr string, cfg *ssh.ClientConfig) error {
	conn, err := dial(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	sc, chans, reqs, err := ssh.NewClientConn(conn, addr, cfg)
	if err != nil {
		conn.Close()
		return orCtx(ctx, err)
	}
	conn.SetDeadline(time.Time{})
	client := ssh.NewClient(sc, chans, reqs)
	defer client.Close()
	s, err := client.NewSession()
	if err != nil {
		return orCtx(ctx, err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cloudInitDone)
	if ctx.Err() != nil {
		return fmt.Errorf("logged in, but cloud-init status --wait had not finished: %w", ctx.Err())
	}
	var exit *ssh.ExitError
	if errors.As(err, &exit) && strings.Contains(string(out), "status: error") {
		return &CloudInitError{Output: strings.TrimSpace(string(out))}
	}
	return err
}

// cloudInitDone waits for cloud-init to finish this boot. A clean
// finish of this boot (result.json on /run, with no errors) skips
// `cloud-init status --wait`, a Python start that takes half a minute on
// an emulated node already running a cluster.
const cloudInitDone = `grep -qs '"errors": \[\]' /run/cloud-init/result.json || cloud-init status --wait`

// handshakeTimeout bounds an SSH handshake: a booting node's sshd may
// accept a connection and never answer.
const handshakeTimeout = 20 * time.Second

// orCtx prefers the context's error: a closed connection is the effect.
func orCtx(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// FileTail returns the last lines of a local file, for console logs.
func FileTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}
