// Package sshdtest runs a real OpenSSH sshd as a test host: for kprov's
// tests and the SSH bench (bootstrap/remote/bench). It does not import
// testing, so a program can use it; judge.StartSSHD is the helper for
// tests, stopping the host with the test.
package sshdtest

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/internal/proctree"
)

// Config is one sshd test host.
type Config struct {
	// Dir holds the host key, authorized_keys and sshd_config; it is
	// made, mode 0755: sshd reads authorized_keys as the user logging in.
	Dir string
	// Listen is the address sshd listens on, host:port.
	Listen string
	// Netns, when set, is the network namespace sshd runs in (ip netns
	// exec NS sshd ...).
	Netns string
	// Loopback puts Listen's address on the loopback (of Netns when set)
	// first: ip addr replace ADDR/32 dev lo.
	Loopback bool
	// HostKeyPEM is the host's private key (OpenSSH PEM); nil makes a new
	// ed25519 key.
	HostKeyPEM []byte
	// AuthorizedKeys lets its keys in as any user, root included.
	AuthorizedKeys []byte
	// Program is sshd's path; "" finds sshd on PATH, else /usr/sbin/sshd.
	Program string
	// Log, when set, also gets sshd's messages (Logs keeps their tail).
	Log io.Writer
}

// startTimeout bounds the wait for sshd to listen.
const startTimeout = 10 * time.Second

// Server is a configured sshd; Start and Kill run and stop it, as often
// as a test needs (a node that goes away and comes back).
type Server struct {
	Addr    string        // Config.Listen
	Dir     string        // Config.Dir
	HostKey ssh.PublicKey // the host key's public half

	program, config, netns string
	log                    io.Writer
	logs                   tail

	mu   sync.Mutex
	proc *proc // nil when not running
}

// proc is one sshd process and the end of its Wait.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start writes c's files and starts sshd, returning once it listens.
func Start(c Config) (*Server, error) {
	s, err := write(c)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// write makes the host's folder, keys and sshd_config.
func write(c Config) (*Server, error) {
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(c.Dir, 0o755); err != nil {
		return nil, err
	}
	hostKey := filepath.Join(c.Dir, "host_key")
	var signer ssh.Signer
	var err error
	if c.HostKeyPEM == nil {
		_, signer, err = NewKey(hostKey)
	} else if signer, err = ssh.ParsePrivateKey(c.HostKeyPEM); err == nil {
		err = os.WriteFile(hostKey, c.HostKeyPEM, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("sshd host key: %w", err)
	}
	auth := filepath.Join(c.Dir, "authorized_keys")
	if err := os.WriteFile(auth, c.AuthorizedKeys, 0o644); err != nil {
		return nil, err
	}
	s := &Server{Addr: c.Listen, Dir: c.Dir, HostKey: signer.PublicKey(), program: c.Program,
		config: filepath.Join(c.Dir, "sshd_config"), netns: c.Netns, log: c.Log}
	// LogLevel INFO: Start waits for the "Server listening" line.
	cfg := fmt.Sprintf("ListenAddress %s\nHostKey %s\nPidFile none\nUsePAM no\nPermitRootLogin prohibit-password\n"+
		"StrictModes no\nAuthorizedKeysFile %s\nMaxStartups 200\nLogLevel INFO\nAllowTcpForwarding yes\n"+
		"AllowStreamLocalForwarding yes\n", c.Listen, hostKey, auth)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	if s.program == "" {
		s.program = "/usr/sbin/sshd" // Debian's, off a non-root PATH
		if p, err := exec.LookPath("sshd"); err == nil {
			s.program = p
		}
	}
	if c.Loopback {
		if err := addLoopback(c.Netns, c.Listen); err != nil {
			return nil, err
		}
	}
	// sshd's privilege separation folder.
	os.MkdirAll("/run/sshd", 0o755)
	return s, nil
}

// addLoopback puts listen's address on the loopback of netns (or of the
// current namespace).
func addLoopback(netns, listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return err
	}
	args := []string{"addr", "replace", host + "/32", "dev", "lo"}
	if netns != "" {
		args = append([]string{"-n", netns}, args...)
	}
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Start runs sshd (again, after Kill) and waits, at most 10 s, until it
// listens. On failure sshd is gone and the error ends with its last words.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return fmt.Errorf("sshd on %s is already running", s.Addr)
	}
	args := []string{"-D", "-e", "-f", s.config}
	cmd := exec.Command(s.program, args...)
	if s.netns != "" {
		// ip netns exec execs sshd in place: the PID is sshd's.
		cmd = exec.Command("ip", append([]string{"netns", "exec", s.netns, s.program}, args...)...)
	}
	out := &output{s: s, listening: make(chan struct{})}
	cmd.Stderr = out
	// Bounds Wait should a process sshd left hold its stderr.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start sshd for %s: %w (apt-get install -y openssh-server)", s.Addr, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	s.proc = p
	select {
	case <-out.listening:
		return nil
	case <-p.done:
		s.proc = nil
		return fmt.Errorf("sshd for %s exited before listening; it said:\n%s", s.Addr, lastLines(s.Logs(), 10))
	case <-time.After(startTimeout):
		s.kill()
		return fmt.Errorf("sshd did not listen on %s within %s; it said:\n%s", s.Addr, startTimeout, lastLines(s.Logs(), 10))
	}
}

// Kill kills sshd and every process it started (connection handlers and
// the commands under them), by PID, and waits for it. It does nothing
// when sshd is not running.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kill()
}

func (s *Server) kill() {
	if s.proc == nil {
		return
	}
	select {
	case <-s.proc.done: // exited by itself
	default:
		proctree.Kill(s.proc.cmd.Process.Pid)
		<-s.proc.done
	}
	s.proc = nil
}

// PID is sshd's process ID, 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.cmd.Process.Pid
}

// Logs is the tail of what sshd said, over every start.
func (s *Server) Logs() string {
	return s.logs.String()
}
