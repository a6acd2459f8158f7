// Package phases is what `up` does over SSH once the nodes answer: the
// bootstrap, kubeadm and addon phases, run by a Bootstrapper.
package phases

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/bootstrap/addonsrun"
	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/nodepreprun"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/phase"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// Options is what a Bootstrapper works from.
type Options struct {
	// Out takes the log lines of the phases; Echo, when not nil, each
	// remote command (-v).
	Out, Echo io.Writer
	// AgentSocket is SSH_AUTH_SOCK, for a spec key held by ssh-agent.
	AgentSocket string
	// StateDir is the cluster's state folder; SpecPath the spec file,
	// whose folder relative paths and kprov.lock.hcl start at.
	StateDir, SpecPath string
	Cluster            *spec.Cluster
	Nodes              []plan.Node
	Secrets            *state.Secrets
	// Parallel is how many nodes are worked on at once.
	Parallel int
	// Locked refuses any artifact whose sha256 is not in kprov.lock.hcl.
	Locked bool
	// ImageSum is the base image's sha256, known after provision/image;
	// nil or "" when unknown.
	ImageSum func() string
}

// Bootstrapper turns SSH-ready nodes into a kubeadm cluster and applies
// its addons.
type Bootstrapper struct {
	o      Options
	engine *remote.Engine
	nodes  map[string]*remote.Conn
	all    []*remote.Conn
	closer func()
	mu     sync.Mutex
	// Addons: the plan and the API connection, made on first use.
	steps  []addons.Step
	client *addonsrun.Client
	// imgs is every image the cluster runs, read on first use.
	imgs []images.Image
	// installs are the binaries' install commands, made on first use.
	installs []string
	// changes counts what the bootstrap phases changed (libvirt's are
	// counted by the hypervisor).
	changes int
}

// New opens the SSH engine on the cluster's nodes: pinned host keys, the
// state folder's key or the spec's (and ssh-agent), the spec's bastion,
// logs in the state folder. Close it when done.
func New(o Options) (*Bootstrapper, error) {
	cfg, closeAuth, err := remote.ClusterConfig(o.Cluster, filepath.Dir(o.SpecPath), o.StateDir, o.Secrets, o.AgentSocket)
	if err != nil {
		return nil, err
	}
	cfg.Echo = o.Echo
	targets, err := remote.Targets(o.Nodes, o.Secrets)
	if err != nil {
		closeAuth()
		return nil, err
	}
	b := &Bootstrapper{o: o, engine: remote.New(cfg), nodes: map[string]*remote.Conn{}}
	b.closer = func() { b.engine.Close(); closeAuth() }
	for _, t := range targets {
		n, err := b.engine.Node(t)
		if err != nil {
			b.closer()
			return nil, err
		}
		b.nodes[t.Name] = n
		b.all = append(b.all, n)
	}
	return b, nil
}

// Close ends the SSH connections.
func (b *Bootstrapper) Close() { b.closer() }

// Nodes are the SSH connections to the nodes, in plan order.
func (b *Bootstrapper) Nodes() []*remote.Conn { return b.all }

// changed logs a change that n things made and counts them.
func (b *Bootstrapper) changed(n int, format string, args ...any) {
	b.logf(format, args...)
	b.mu.Lock()
	b.changes += n
	b.mu.Unlock()
}

// Changes is the number of changes the bootstrap phases made.
func (b *Bootstrapper) Changes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changes
}

func (b *Bootstrapper) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintf(b.o.Out, "  "+format+"\n", args...)
}

// Phases are the bootstrap and kubeadm steps of `up`, in order.
func (b *Bootstrapper) Phases() []phase.Phase {
	return []phase.Phase{
		{Name: "bootstrap/prepare", Run: b.prepare},
		{Name: "bootstrap/etcd-disk", Run: b.etcdDisk},
		{Name: "bootstrap/binaries", Run: b.binaries},
		{Name: "bootstrap/images", Run: b.images},
		{Name: "kubeadm/init", Run: b.init},
		{Name: "kubeadm/kubeconfig", Run: b.kubeconfig},
		{Name: "kubeadm/upgrade", Run: b.upgrade},
		{Name: "kubeadm/join", Run: b.join},
	}
}

func (b *Bootstrapper) prepare(ctx context.Context) error {
	c := b.o.Cluster
	if err := b.checkUpgrade(); err != nil {
		return err
	}
	// kubeadm's images only: the addons' manifests are read by the images
	// phase, which completes containerd's mirrors for their hosts.
	imgs, err := images.Kubeadm(c)
	if err != nil {
		return err
	}
	o := nodepreprun.Options{SpecDir: filepath.Dir(b.o.SpecPath)}
	for _, img := range imgs {
		o.Images = append(o.Images, img.Ref)
	}
	return remote.Each(ctx, b.all, b.o.Parallel, func(ctx context.Context, n *remote.Conn) error {
		r, err := nodepreprun.Node(ctx, n, c, o)
		if len(r.Changed) > 0 {
			b.changed(len(r.Changed), "%s: %s", n.Name(), strings.Join(r.Changed, "; "))
		}
		return err
	})
}

func (b *Bootstrapper) controlPlanes() []*remote.Conn {
	var out []*remote.Conn
	for _, n := range b.o.Nodes {
		if n.Role == spec.RoleControlPlane {
			out = append(out, b.nodes[n.Name])
		}
	}
	return out
}

// etcdDisk measures each control plane's fdatasync p99 and applies the
// spec's policy: enforce refuses a slow disk, warn reports it.
func (b *Bootstrapper) etcdDisk(ctx context.Context) error {
	policy := b.o.Cluster.Etcd.DiskCheck
	if policy == "off" {
		return nil
	}
	return remote.Each(ctx, b.controlPlanes(), b.o.Parallel, func(ctx context.Context, n *remote.Conn) error {
		if running, err := nodepreprun.EtcdRuns(ctx, n); err != nil || running {
			return err
		}
		p99, err := nodepreprun.EtcdDisk(ctx, n)
		if err != nil {
			return err
		}
		if p99 < nodepreprun.EtcdLimit {
			b.logf("%s: fdatasync p99 %s (etcd needs under %s)", n.Name(), p99.Round(time.Microsecond), nodepreprun.EtcdLimit)
			return nil
		}
		e := &nodepreprun.EtcdDiskError{Node: n.Name(), P99: p99}
		if policy == "warn" {
			b.logf("warning: node %s: fdatasync p99 on %s is %s, over etcd's %s; going on (etcd { disk_check = \"warn\" })",
				n.Name(), nodepreprun.EtcdDir, p99.Round(time.Microsecond), nodepreprun.EtcdLimit)
			return nil
		}
		return e
	})
}

func (b *Bootstrapper) imageSum() string {
	if b.o.ImageSum == nil {
		return ""
	}
	return b.o.ImageSum()
}

// plural is "1 image", "2 images".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
