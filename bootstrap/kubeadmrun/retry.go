package kubeadmrun

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/retry"
)

// slowSigns are what kubeadm prints when a request to the API server ran
// out of time or found it restarting: the control plane was too busy, not
// the node or the configuration wrong. The client's own signs count only
// on a request to the API server (an https URL): the kubelet's health
// check (http://127.0.0.1:10248) failing the same way is the node's fault.
var (
	clientSigns = []string{
		"Client.Timeout exceeded",
		"context deadline exceeded",
		"TLS handshake timeout",
		"connection refused",
		"http2: client connection lost",
	}
	serverSigns = []string{
		"etcdserver: request timed out",
		"the server was unable to return a response in the time allotted",
	}
)

// Slow says err is a kubeadm run that failed on a busy API server (its
// error, the last line of its output, shows one of the signs), so a
// second try may well succeed.
func Slow(err error) (bool, string) {
	var re *remote.RunError
	if !errors.As(err, &re) || !strings.HasPrefix(re.Command, "kubeadm ") {
		return false, ""
	}
	lines := strings.Split(strings.TrimSpace(re.Output), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" || strings.HasPrefix(l, "To see the stack trace") {
			continue // kubeadm's last line is its stack trace advice
		}
		for _, s := range serverSigns {
			if strings.Contains(l, s) {
				return true, s
			}
		}
		for _, s := range clientSigns {
			if strings.Contains(l, s) && strings.Contains(l, `"https://`) {
				return true, s
			}
		}
		return false, ""
	}
	return false, ""
}

// Forget undoes a worker's failed join so that it can join again: kubeadm
// reset on the node, and its Node object deleted through cp (kubeadm join
// refuses a name that a Ready Node already has).
func Forget(ctx context.Context, node, cp remote.Node, name string) error {
	if _, err := node.Run(ctx, "kubeadm reset -f"); err != nil {
		return fmt.Errorf("undo the failed kubeadm join: %w", err)
	}
	_, err := cp.Run(ctx, "kubectl --kubeconfig "+AdminConf+" delete node --ignore-not-found --wait=false "+remote.Quote(name))
	return err
}

// slowTries and slowPause bound retrySlow.
var (
	slowTries = 5
	slowPause = 10 * time.Second
)

// retrySlow runs a kubeadm command that only talks to the API server
// (and is safe to repeat), again while it fails on a busy API server.
func retrySlow(ctx context.Context, n remote.Node, cmd string) (string, error) {
	var out string
	err := retry.Do(ctx, retry.Every(slowPause), slowTries, func(ctx context.Context) error {
		var err error
		out, err = n.Run(ctx, cmd)
		if slow, _ := Slow(err); slow {
			return err
		}
		return retry.Stop(err)
	})
	return out, retry.Last(err)
}
