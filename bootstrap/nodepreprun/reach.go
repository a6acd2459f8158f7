package nodepreprun

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/kprov/kprov/bootstrap/remote"
)

// ReachError is a node that cannot reach a source it fetches from: its
// package source, or where the Kubernetes binaries come from.
type ReachError struct {
	Node  string
	What  string // "its package source", "the binaries source dl.k8s.io"
	Cause string // the line of apt's or curl's output that says why
	Hint  string
}

func (e *ReachError) Error() string {
	return fmt.Sprintf("node %s cannot reach %s: %s; %s", e.Node, e.What, e.Cause, e.Hint)
}

// netFailure matches the lines in which apt and curl say the network
// failed, not the server: no name, no route, no connection, no TLS.
var netFailure = regexp.MustCompile(`(?m)^.*(curl: \((6|7|28|35|60)\)|Temporary failure resolving|Could not resolve|Could not connect to|Unable to connect to|Network is unreachable|No route to host|Connection timed out|Connection failed|Cannot initiate the connection).*$`)

// Unreachable turns err, a failed fetch on a node, into a ReachError when
// its output says the network failed; any other error is returned as is.
func Unreachable(err error, what, hint string) error {
	var re *remote.RunError
	if !errors.As(err, &re) {
		return err
	}
	lines := netFailure.FindAllString(re.Output, -1)
	if len(lines) == 0 {
		return err
	}
	// apt's "Failed to fetch URL  reason" names the source too.
	line := lines[0]
	for _, l := range lines {
		if strings.Contains(l, "Failed to fetch") {
			line = l
			break
		}
	}
	return &ReachError{Node: re.Node, What: what, Cause: strings.TrimSpace(line), Hint: hint}
}

// Hints for ReachError.
const (
	packageHint = "preparation installs packages with apt-get: give the node a way out (network.mode \"nat\"; \"isolated\" has none) or an apt mirror it can reach in the image's sources"
	// BinariesHint is for the binaries phase.
	BinariesHint = "the node downloads kubeadm, kubelet and kubectl from there: check artifacts.mirror and that the node's network routes to it (network.mode \"isolated\" has no way out)"
)
