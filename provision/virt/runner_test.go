package virt

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/plan"
)

// eachNode bounds its concurrency and reports every node's failure.
func TestEachNodeBoundAndAllErrors(t *testing.T) {
	var nodes []plan.Node
	for _, n := range []string{"c", "a", "b", "d", "e", "f"} {
		nodes = append(nodes, plan.Node{Name: n})
	}
	var running, peak atomic.Int32
	err := eachNode(context.Background(), nodes, 2, func(_ context.Context, n plan.Node) error {
		now := running.Add(1)
		for {
			p := peak.Load()
			if now <= p || peak.CompareAndSwap(p, now) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		running.Add(-1)
		if n.Name == "a" || n.Name == "c" {
			return errors.New("broken " + n.Name)
		}
		return nil
	})
	if peak.Load() > 2 {
		t.Errorf("%d nodes ran at once, bound was 2", peak.Load())
	}
	if err == nil || err.Error() != "node a: broken a\nnode c: broken c" {
		t.Errorf("errors: %q", err)
	}
	var ne *NodeError
	if !errors.As(err, &ne) || ne.Node != "a" {
		t.Errorf("first NodeError: %+v", ne)
	}
}

func TestEachNodeStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	nodes := []plan.Node{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	var ran atomic.Int32
	err := eachNode(ctx, nodes, 1, func(context.Context, plan.Node) error { ran.Add(1); return nil })
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("err %v", err)
	}
	if ran.Load() != 0 {
		t.Errorf("%d nodes ran after cancel", ran.Load())
	}
}

func TestResolveURI(t *testing.T) {
	cases := []struct{ spec, env, want string }{
		{"qemu:///system", "", "qemu:///system"},
		{"qemu:///system", "qemu:///system?socket=/tmp/s", "qemu:///system?socket=/tmp/s"},
		{"qemu+ssh://root@h/system", "qemu:///system?socket=/tmp/s", "qemu+ssh://root@h/system"},
	}
	for _, c := range cases {
		if got := ResolveURI(c.spec, c.env); got != c.want {
			t.Errorf("ResolveURI(%q, %q) = %q", c.spec, c.env, got)
		}
	}
}
