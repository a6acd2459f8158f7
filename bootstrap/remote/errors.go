package remote

import (
	"fmt"
	"sort"
	"strings"
)

// tailLines is how many lines of output a RunError keeps.
const tailLines = 20

// RunError is a remote command that exited non-zero. Command and Output
// are already redacted.
type RunError struct {
	Node     string
	Command  string
	ExitCode int // -1 when the command was killed by a signal
	Signal   string
	Output   string // the last lines of the combined output
}

func (e *RunError) Error() string {
	how := fmt.Sprintf("exit code %d", e.ExitCode)
	if e.Signal != "" {
		how = "signal " + e.Signal
	}
	msg := fmt.Sprintf("node %s: command failed with %s: %s", e.Node, how, e.Command)
	if e.Output != "" {
		msg += "\n" + indent(e.Output)
	}
	return msg
}

// InterruptedError is a command cut off before it reported an exit
// status: the connection dropped or the context ended. It may have had an
// effect; the engine never runs it again by itself.
type InterruptedError struct {
	Node    string
	Command string // redacted
	Output  string // the last lines received, redacted
	Err     error
}

func (e *InterruptedError) Error() string {
	msg := fmt.Sprintf("node %s: command interrupted before it finished (it may have partly run; the next command reconnects): %s: %v", e.Node, e.Command, e.Err)
	if e.Output != "" {
		msg += "\n" + indent(e.Output)
	}
	return msg
}

func (e *InterruptedError) Unwrap() error { return e.Err }

// HostKeyError is a host that answered with a key other than the pinned
// one. Bastion says the host is the jump host, not a node.
type HostKeyError struct {
	Node, Want, Got string
	Bastion         bool
}

func (e *HostKeyError) Error() string {
	if e.Bastion {
		return fmt.Sprintf("bastion %s answered with host key %s, but the spec pins %s: refusing to connect (check ssh.bastion.host_key)", e.Node, e.Got, e.Want)
	}
	return fmt.Sprintf("node %s answered with host key %s, but kprov gave it %s: refusing to connect (if the node was rebuilt outside kprov, remove it and run `kprov up` again)", e.Node, e.Got, e.Want)
}

// NodeError is one node's failure in a fan-out.
type NodeError struct {
	Node string
	Err  error
}

func (e *NodeError) Error() string {
	// Engine errors already name the node.
	if strings.HasPrefix(e.Err.Error(), "node "+e.Node+":") {
		return e.Err.Error()
	}
	return fmt.Sprintf("node %s: %v", e.Node, e.Err)
}

func (e *NodeError) Unwrap() error { return e.Err }

// NodeErrors are the failures of a fan-out, sorted by node.
type NodeErrors []*NodeError

func (es NodeErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	if len(es) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d nodes failed:\n%s", len(es), strings.Join(lines, "\n"))
}

// Unwrap lets errors.Is and errors.As look at every node's error.
func (es NodeErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es NodeErrors) sort() {
	sort.Slice(es, func(i, j int) bool { return es[i].Node < es[j].Node })
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func indent(s string) string {
	return "  | " + strings.ReplaceAll(s, "\n", "\n  | ")
}
