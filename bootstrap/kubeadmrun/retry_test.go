package kubeadmrun

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kprov/kprov/bootstrap/remote"
)

func TestSlow(t *testing.T) {
	// The lab's worker-1 join (kubeadm 1.30.14 on a busy emulated
	// control plane), and failures a retry cannot mend.
	crisocket := "[kubelet-start] Waiting for the kubelet to perform the TLS Bootstrap\n" +
		`error execution phase kubelet-start: error uploading crisocket: error patching Node "worker-1": Patch "https://10.77.0.67:6443/api/v1/nodes/worker-1?timeout=10s": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` +
		"\nTo see the stack trace of this error execute with --v=5 or higher"
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"crisocket timeout", &remote.RunError{Node: "worker-1", Command: "kubeadm join --config /etc/kprov/kubeadm-join.yaml", ExitCode: 1, Output: crisocket}, true},
		{"wrapped", fmt.Errorf("join: %w", &remote.RunError{Command: "kubeadm join --config x", Output: "error execution phase preflight: couldn't validate the identity of the API Server: Get \"https://10.0.0.1:6443/api/v1/namespaces/kube-public/configmaps/cluster-info?timeout=10s\": net/http: TLS handshake timeout"}), true},
		{"preflight port", &remote.RunError{Command: "kubeadm join --config x", Output: "[preflight] Running pre-flight checks\nerror execution phase preflight: [preflight] Some fatal errors occurred:\n\t[ERROR Port-10250]: Port 10250 is in use"}, false},
		// A timeout seen earlier but not in the error line: not this.
		{"earlier timeout", &remote.RunError{Command: "kubeadm join --config x", Output: "W1130 context deadline exceeded\nerror execution phase kubelet-start: a Node with name \"w\" and status \"Ready\" already exists in the cluster"}, false},
		{"kubelet unhealthy", &remote.RunError{Command: "kubeadm join --config x", Output: `error execution phase kubelet-start: The HTTP call equal to 'curl -sSL http://localhost:10248/healthz' failed with error: Get "http://localhost:10248/healthz": dial tcp [::1]:10248: connect: connection refused.`}, false},
		{"etcd slow", &remote.RunError{Command: "kubeadm join --config x", Output: "error execution phase control-plane-join/etcd: etcdserver: request timed out"}, true},
		{"token list", &remote.RunError{Command: "kubeadm token list --kubeconfig /etc/kubernetes/admin.conf", Output: `failed to list bootstrap tokens: Get "https://10.77.0.67:6443/api/v1/namespaces/kube-system/secrets?fieldSelector=type%3Dbootstrap.kubernetes.io%2Ftoken": dial tcp 10.77.0.67:6443: connect: connection refused` + "\nTo see the stack trace of this error execute with --v=5 or higher"}, true},
		{"not kubeadm", &remote.RunError{Command: "systemctl start kubelet", Output: "error: connection refused"}, false},
		{"not a run", errors.New("context deadline exceeded"), false},
	}
	for _, c := range cases {
		if got, _ := Slow(c.err); got != c.want {
			t.Errorf("%s: Slow = %v, want %v", c.name, got, c.want)
		}
	}
}

// busyNode fails its first n kubeadm commands as a busy API server makes
// kubeadm fail, then answers with out.
type busyNode struct {
	fakeNode
	n   int
	out string
	err *remote.RunError
}

func (b *busyNode) Run(_ context.Context, cmd string) (string, error) {
	b.ran = append(b.ran, cmd)
	if len(b.ran) <= b.n {
		e := *b.err
		e.Command = cmd
		return "", &e
	}
	return b.out, nil
}

func TestRetrySlow(t *testing.T) {
	slowPause = time.Millisecond
	t.Cleanup(func() { slowPause = 10 * time.Second })
	refused := &remote.RunError{Output: `failed to list bootstrap tokens: Get "https://10.0.0.1:6443/api/v1/namespaces/kube-system/secrets": dial tcp 10.0.0.1:6443: connect: connection refused`}
	token := "abcdef.0123456789abcdef"
	b := &busyNode{n: 2, out: "TOKEN TTL\n" + token + " 23h\n", err: refused}
	if made, err := EnsureToken(context.Background(), b, token); err != nil || made || len(b.ran) != 3 {
		t.Errorf("after two refusals: made %v, %v, ran %d", made, err, len(b.ran))
	}
	// Not for ever: the last error is returned.
	b = &busyNode{n: 100, err: refused}
	_, err := EnsureToken(context.Background(), b, token)
	var re *remote.RunError
	if !errors.As(err, &re) || err != error(re) || re.Output != refused.Output || len(b.ran) != slowTries {
		t.Errorf("an API server that never answers: %v after %d tries, want its last error after %d", err, len(b.ran), slowTries)
	}
	// Nor for a failure that is not the API server's.
	b = &busyNode{n: 1, err: &remote.RunError{Output: "error: unknown flag: --ttl"}}
	if _, err := EnsureToken(context.Background(), b, token); err == nil || len(b.ran) != 1 {
		t.Errorf("a usage error was retried: %v after %d tries", err, len(b.ran))
	}
}
