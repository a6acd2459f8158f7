package etcd

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/judge"
)

// fakeCrictl stands in for the container runtime only: `ps` names the
// etcd container, and `exec ID PROGRAM ARGS` runs the real etcdctl with
// the node's paths (kubeadm's PKI, etcd's client URL) mapped to the
// test cluster's.
const fakeCrictl = `#!/bin/sh
case "$1" in
ps) echo etcd-container ;;
exec)
  shift 3
  for a; do shift; set -- "$@" "$(printf '%s' "$a" | sed "s#/etc/kubernetes/pki/etcd#$PKI#; s#https://127.0.0.1:2379#$ENDPOINT#")"; done
  exec "$ETCDCTL" "$@" ;;
*) echo "crictl: $*: not faked" >&2; exit 1 ;;
esac
`

// localNode runs commands with the real sh here, the fake crictl first
// on its PATH.
type localNode struct{ env []string }

func (localNode) Name() string { return "cp-1" }
func (n localNode) Run(ctx context.Context, command string) (string, error) {
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.Env = append(os.Environ(), n.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), errors.Join(err, errors.New(string(out)))
	}
	return string(out), nil
}
func (localNode) Download(_ context.Context, path string) ([]byte, error) { return os.ReadFile(path) }
func (localNode) Upload(context.Context, string, []byte, fs.FileMode) error {
	return errors.New("not used")
}

// A real three-member etcd (TLS, client certificates, as kubeadm runs
// it): Members sees all healthy; with cp-3 killed it sees cp-3
// unhealthy, refuses to remove cp-2 (one healthy member of the two left)
// and removes cp-3, after which two healthy members remain.
func TestMembersOnRealEtcd(t *testing.T) {
	c := judge.StartEtcdCluster(t, "cp-1", "cp-2", "cp-3")
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "crictl"), []byte(fakeCrictl), 0o755); err != nil {
		t.Fatal(err)
	}
	n := localNode{env: []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "PKI=" + c.PKI, "ENDPOINT=" + c.Members[0].ClientURL, "ETCDCTL=" + c.Etcdctl}}
	ctx := context.Background()
	health := func() string {
		t.Helper()
		st, err := Members(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, s := range st {
			parts = append(parts, s.Name+map[bool]string{true: ":up", false: ":down"}[s.Healthy])
		}
		return strings.Join(parts, " ")
	}
	if got := health(); got != "cp-1:up cp-2:up cp-3:up" {
		t.Fatalf("members: %s", got)
	}
	c.Members[2].Stop()
	if got := health(); got != "cp-1:up cp-2:up cp-3:down" {
		t.Fatalf("members with cp-3 killed: %s", got)
	}
	st, _ := Members(ctx, n)
	if _, _, err := CheckRemoval(st, "cp-2"); err == nil || !strings.Contains(err.Error(), "below their quorum") {
		t.Errorf("removing cp-2 with cp-3 down: %v", err)
	}
	m, ok, err := CheckRemoval(st, "cp-3")
	if err != nil || !ok {
		t.Fatalf("removing dead cp-3: %v %v", ok, err)
	}
	if err := RemoveMember(ctx, n, m.ID); err != nil {
		t.Fatal(err)
	}
	if got := health(); got != "cp-1:up cp-2:up" {
		t.Errorf("members after removing cp-3: %s", got)
	}
	// Gone already: nothing to remove.
	st, _ = Members(ctx, n)
	if _, ok, err := CheckRemoval(st, "cp-3"); ok || err != nil {
		t.Errorf("cp-3 after its removal: %v %v", ok, err)
	}
}
