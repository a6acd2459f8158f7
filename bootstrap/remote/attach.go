package remote

import (
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// Stdio are the streams of an attached session.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
	// Term is the TERM of a PTY (default xterm-256color).
	Term string
}

// Attach runs command as the login user, not root, on the node's
// verified connection, or a login shell when command is empty; it
// returns the remote exit code. A shell whose In is a terminal gets a
// PTY, and the terminal is in raw mode meanwhile. Only the command and
// its exit code are logged, not the session's bytes.
func (n *Conn) Attach(ctx context.Context, command string, stdio Stdio) (int, error) {
	s, c, release, err := n.session(ctx)
	if err != nil {
		return -1, err
	}
	defer release()
	defer s.Close()
	s.Stdin, s.Stdout, s.Stderr = stdio.In, stdio.Out, stdio.Err
	if f, ok := stdio.In.(*os.File); ok && command == "" && term.IsTerminal(int(f.Fd())) {
		restore, err := pty(s, int(f.Fd()), stdio.Term)
		if err != nil {
			return -1, n.wrap(err)
		}
		defer restore()
	}
	shown := command
	if shown == "" {
		shown = "(login shell)"
	}
	n.log.Printf("ssh as %s: %s", n.e.cfg.User, shown)
	if command == "" {
		err = s.Shell()
	} else {
		err = s.Start(command)
	}
	if err != nil {
		n.drop(c)
		return -1, n.wrap(err)
	}
	stop := context.AfterFunc(ctx, func() { s.Signal(ssh.SIGTERM); s.Close() })
	defer stop()
	err = s.Wait()
	var exit *ssh.ExitError
	switch {
	case err == nil:
		n.log.Printf("ssh session ended: exit 0")
		return 0, nil
	case errors.As(err, &exit):
		n.log.Printf("ssh session ended: exit %d", exit.ExitStatus())
		if exit.Signal() != "" {
			return 255, nil // as OpenSSH's ssh does for a killed command
		}
		return exit.ExitStatus(), nil
	case ctx.Err() != nil:
		return -1, n.wrap(ctx.Err())
	default:
		n.drop(c)
		return -1, n.wrap(err)
	}
}

// pty asks for a PTY the size of the local terminal fd, puts fd in raw
// mode and forwards window size changes until restore is called.
func pty(s *ssh.Session, fd int, termName string) (restore func(), err error) {
	if termName == "" {
		termName = "xterm-256color"
	}
	w, h, err := term.GetSize(fd)
	if err != nil {
		w, h = 80, 24
	}
	modes := ssh.TerminalModes{ssh.ECHO: 1, ssh.TTY_OP_ISPEED: 38400, ssh.TTY_OP_OSPEED: 38400}
	if err := s.RequestPty(termName, h, w, modes); err != nil {
		return nil, err
	}
	old, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-winch:
				if w, h, err := term.GetSize(fd); err == nil {
					s.WindowChange(h, w)
				}
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
		term.Restore(fd, old)
	}, nil
}
