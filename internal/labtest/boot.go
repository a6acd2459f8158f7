package labtest

import (
	"context"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/cloudinit"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/seed"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
	"github.com/kprov/kprov/provision/virt"
)

// Cluster is a cluster whose nodes booted from the lab image and answer SSH.
type Cluster struct {
	Spec        *spec.Cluster
	Nodes       []plan.Node
	Secrets     *state.Secrets
	Provisioner *virt.Provisioner
	Waiter      *virt.Waiter
	// Booted is how long the nodes took from start to SSH.
	Booted time.Duration
}

// Boot provisions a cluster named name from the lab image (Spec's two
// nodes unless extra says more) and waits until every node answers SSH
// with its pinned host key and cloud-init is done. It is removed when the
// test ends.
func Boot(t *testing.T, name, extra string) *Cluster {
	t.Helper()
	Need(t)
	conn := Dial(t)
	c := Spec(t, name, Image(t), extra)
	p, secrets := Provisioner(t, conn, c)
	for _, n := range p.Nodes {
		files, err := cloudinit.Files(c, n, secrets)
		if err != nil {
			t.Fatal(err)
		}
		if p.Seeds[n.Name], err = seed.ISO(files); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	start := time.Now()
	if err := EnsureAll(ctx, p); err != nil {
		t.Fatal(err)
	}
	w := &virt.Waiter{Secrets: secrets, User: c.SSH.User, Host: p.Host, Timeout: c.BootTimeout(), Log: t.Logf,
		ConsoleTail: func(n plan.Node) string { return virt.FileTail(plan.ConsoleLog(p.Host, n), 30) }}
	if err := w.Wait(ctx, p.Nodes); err != nil {
		t.Fatal(err)
	}
	return &Cluster{Spec: c, Nodes: p.Nodes, Secrets: secrets, Provisioner: p, Waiter: w, Booted: time.Since(start)}
}
