package remote

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// nodeLog is a node's log file: every command, its output line by line
// and its result, each line timestamped, secrets redacted. A nil
// *nodeLog logs nothing.
type nodeLog struct {
	mu     sync.Mutex
	f      *os.File
	redact redactor
	now    func() time.Time
	// echo, when set, also receives every entry as "node| line" (-v).
	echo *echo
	node string
}

// echo is a writer shared by the node logs, one whole entry at a time.
type echo struct {
	mu sync.Mutex
	w  io.Writer
}

// openLog opens (appends to) dir/<node>.log, mode 0600 in a 0700 folder.
func openLog(dir, node string, r redactor, now func() time.Time) (*nodeLog, error) {
	if dir == "" {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("log folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("log folder: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, node+".log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("node log: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, fmt.Errorf("node log: %w", err)
	}
	return &nodeLog{f: f, redact: r, now: now}, nil
}

// Printf writes one timestamped, redacted entry (a line per line).
func (l *nodeLog) Printf(format string, args ...any) {
	if l == nil {
		return
	}
	l.write(fmt.Sprintf(format, args...))
}

func (l *nodeLog) write(text string) {
	text = l.redact.String(text)
	ts := l.now().UTC().Format("2006-01-02T15:04:05.000Z")
	var b bytes.Buffer
	for _, line := range bytes.Split(bytes.TrimRight([]byte(text), "\n"), []byte("\n")) {
		fmt.Fprintf(&b, "%s %s\n", ts, line)
	}
	l.mu.Lock()
	l.f.Write(b.Bytes())
	l.mu.Unlock()
	if e := l.echo; e != nil {
		var o bytes.Buffer
		for _, line := range bytes.Split(bytes.TrimRight([]byte(text), "\n"), []byte("\n")) {
			fmt.Fprintf(&o, "  %s| %s\n", l.node, line)
		}
		e.mu.Lock()
		e.w.Write(o.Bytes())
		e.mu.Unlock()
	}
}

func (l *nodeLog) Close() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}

// output collects a command's combined output and copies complete lines
// to the log as they arrive, prefixed "| ".
type output struct {
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
	log     *nodeLog
}

var _ io.Writer = (*output)(nil)

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.all.Write(p)
	o.partial = append(o.partial, p...)
	if i := bytes.LastIndexByte(o.partial, '\n'); i >= 0 {
		o.logLines(o.partial[:i])
		o.partial = append(o.partial[:0], o.partial[i+1:]...)
	}
	return len(p), nil
}

// flush logs a last line without a newline.
func (o *output) flush() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.partial) > 0 {
		o.logLines(o.partial)
		o.partial = nil
	}
	return o.all.String()
}

func (o *output) logLines(b []byte) {
	if o.log == nil {
		return
	}
	o.log.write("| " + string(bytes.ReplaceAll(b, []byte("\n"), []byte("\n| "))))
}
