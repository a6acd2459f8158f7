package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// killWait bounds the wait for a session to end after it is cancelled.
const killWait = 5 * time.Second

// Run runs command as root (through sudo -n unless the login user is
// root) and returns its combined output. A non-zero exit is a *RunError;
// a command cut off by a dropped connection or ctx is an
// *InterruptedError and is not run again: the next Run reconnects.
func (n *Conn) Run(ctx context.Context, command string) (string, error) {
	return n.run(ctx, command, asRoot(n.e.cfg.User, command))
}

// run runs wire on the node, logging and reporting it as shown.
func (n *Conn) run(ctx context.Context, shown, wire string) (string, error) {
	red := n.e.redact.String
	n.log.Printf("$ %s", shown)
	start := time.Now()
	s, c, release, err := n.session(ctx)
	if err != nil {
		n.log.Printf("not run: %v", err)
		return "", err
	}
	defer release()
	defer s.Close()
	out := &output{log: n.log}
	s.Stdout, s.Stderr = out, out
	interrupted := func(err error) error {
		text := out.flush()
		n.log.Printf("interrupted after %s: %v", since(start), err)
		return &InterruptedError{Node: n.t.Name, Command: red(shown), Output: red(tail(text, tailLines)), Err: err}
	}
	if err := s.Start(wire); err != nil {
		// The request may have reached the server: treat as cut off.
		n.drop(c)
		return "", interrupted(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		s.Signal(ssh.SIGKILL)
		s.Close()
		select {
		case <-done:
		case <-time.After(killWait):
		}
		return "", interrupted(ctx.Err())
	}
	text := out.flush()
	var exit *ssh.ExitError
	switch {
	case err == nil:
		n.log.Printf("exit 0 after %s", since(start))
		return text, nil
	case errors.As(err, &exit):
		n.log.Printf("exit %d after %s", exit.ExitStatus(), since(start))
		re := &RunError{Node: n.t.Name, Command: red(shown), ExitCode: exit.ExitStatus(), Output: red(tail(text, tailLines))}
		if exit.Signal() != "" {
			re.ExitCode, re.Signal = -1, exit.Signal()
		}
		return text, re
	default:
		// No exit status: the connection went away under the command.
		n.drop(c)
		return "", interrupted(fmt.Errorf("connection lost: %v", err))
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
