package sshdtest

import (
	"bytes"
	"strings"
	"sync"
)

// output is one sshd process's stderr: kept in its server's logs, copied
// to Config.Log, and watched for the line saying sshd listens.
type output struct {
	s         *Server
	line      []byte // the line not yet ended
	listening chan struct{}
	seen      bool
}

// Write is called by one goroutine at a time (exec's copy of stderr).
func (o *output) Write(p []byte) (int, error) {
	o.s.logs.Write(p)
	if o.s.log != nil {
		o.s.log.Write(p)
	}
	if o.seen {
		return len(p), nil
	}
	o.line = append(o.line, p...)
	for {
		i := bytes.IndexByte(o.line, '\n')
		if i < 0 {
			break
		}
		if bytes.Contains(o.line[:i], []byte("Server listening on ")) {
			o.seen, o.line = true, nil
			close(o.listening)
			break
		}
		o.line = o.line[i+1:]
	}
	return len(p), nil
}

// logMax is how much of sshd's messages a server keeps.
const logMax = 256 << 10

// tail keeps the last logMax bytes written to it.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2*logMax {
		t.b = append([]byte(nil), t.b[len(t.b)-logMax:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
