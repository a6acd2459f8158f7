package cli

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	pathpkg "path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/bootstrap/apply"
	"github.com/kprov/kprov/bootstrap/binaries"
	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/kubeadmrun"
	"github.com/kprov/kprov/bootstrap/prepare"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/internal/phase"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// bootstrapper turns SSH-ready nodes into a kubeadm cluster.
type bootstrapper struct {
	env      Env
	cl       *cluster
	specPath string
	// locked refuses any artifact whose sha256 is not in kprov.lock.hcl.
	locked bool
	// imageSum is the base image's sha256, known after provision/image.
	imageSum func() string
	engine   *remote.Engine
	nodes    map[string]*remote.Node
	all      []*remote.Node
	parallel int
	closer   func()
	mu       sync.Mutex
	// Addons: the plan and the API connection, made on first use.
	steps  []addons.Step
	client *apply.Client
	// imgs is every image the cluster runs, read on first use.
	imgs []images.Image
	// changes counts what the bootstrap phases changed (libvirt's are
	// counted by the hypervisor).
	changes int
}

// newBootstrapper opens the SSH engine on the cluster's nodes: pinned host
// keys, the state folder's key or the spec's (and ssh-agent), the spec's
// bastion, logs in the state folder.
func newBootstrapper(env Env, cl *cluster, specPath string, parallel int) (*bootstrapper, error) {
	c := cl.spec.Cluster
	cfg, closeAuth, err := remote.ClusterConfig(c, filepath.Dir(specPath), cl.dir, cl.secrets, env.Lookup("SSH_AUTH_SOCK"))
	if err != nil {
		return nil, err
	}
	cfg.Echo = env.Verbose()
	targets, err := remote.Targets(cl.nodes, cl.secrets)
	if err != nil {
		closeAuth()
		return nil, err
	}
	b := &bootstrapper{env: env, cl: cl, specPath: specPath, engine: remote.New(cfg), nodes: map[string]*remote.Node{}, parallel: parallel}
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

// changed logs a change that n things made and counts them.
func (b *bootstrapper) changed(n int, format string, args ...any) {
	b.logf(format, args...)
	b.mu.Lock()
	b.changes += n
	b.mu.Unlock()
}

// changeCount is the number of changes the bootstrap phases made.
func (b *bootstrapper) changeCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changes
}

func (b *bootstrapper) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintf(b.env.Stderr, "  "+format+"\n", args...)
}

// phases are the bootstrap steps of `up`, in order.
func (b *bootstrapper) phases() []phase.Phase {
	return []phase.Phase{
		{Name: "bootstrap/prepare", Run: b.prepare},
		{Name: "bootstrap/etcd-disk", Run: b.etcdDisk},
		{Name: "bootstrap/binaries", Run: b.binaries},
		{Name: "bootstrap/images", Run: b.images},
		{Name: "kubeadm/init", Run: b.init},
		{Name: "kubeadm/kubeconfig", Run: b.kubeconfig},
		{Name: "kubeadm/join", Run: b.join},
	}
}

func (b *bootstrapper) prepare(ctx context.Context) error {
	c := b.cl.spec.Cluster
	// kubeadm's images only: the addons' manifests are read by the images
	// phase, which completes containerd's mirrors for their hosts.
	imgs, err := images.Kubeadm(c)
	if err != nil {
		return err
	}
	o := prepare.Options{SpecDir: filepath.Dir(b.specPath)}
	for _, img := range imgs {
		o.Images = append(o.Images, img.Ref)
	}
	return remote.Each(ctx, b.all, b.parallel, func(ctx context.Context, n *remote.Node) error {
		r, err := prepare.Node(ctx, n, c, o)
		if len(r.Changed) > 0 {
			b.changed(len(r.Changed), "%s: %s", n.Name(), strings.Join(r.Changed, "; "))
		}
		return err
	})
}

func (b *bootstrapper) controlPlanes() []*remote.Node {
	var out []*remote.Node
	for _, n := range b.cl.nodes {
		if n.Role == spec.RoleControlPlane {
			out = append(out, b.nodes[n.Name])
		}
	}
	return out
}

// etcdDisk measures each control plane's fdatasync p99 and applies the
// spec's policy: enforce refuses a slow disk, warn reports it.
func (b *bootstrapper) etcdDisk(ctx context.Context) error {
	policy := b.cl.spec.Cluster.Etcd.DiskCheck
	if policy == "off" {
		return nil
	}
	return remote.Each(ctx, b.controlPlanes(), b.parallel, func(ctx context.Context, n *remote.Node) error {
		if running, err := prepare.EtcdRuns(ctx, n); err != nil || running {
			return err
		}
		p99, err := prepare.EtcdDisk(ctx, n)
		if err != nil {
			return err
		}
		if p99 < prepare.EtcdLimit {
			b.logf("%s: fdatasync p99 %s (etcd needs under %s)", n.Name(), p99.Round(time.Microsecond), prepare.EtcdLimit)
			return nil
		}
		e := &prepare.EtcdDiskError{Node: n.Name(), P99: p99}
		if policy == "warn" {
			b.logf("warning: node %s: fdatasync p99 on %s is %s, over etcd's %s; going on (etcd { disk_check = \"warn\" })",
				n.Name(), prepare.EtcdDir, p99.Round(time.Microsecond), prepare.EtcdLimit)
			return nil
		}
		return e
	})
}

func (b *bootstrapper) first() (*remote.Node, error) {
	n, ok := plan.FirstControlPlane(b.cl.nodes)
	if !ok {
		return nil, fmt.Errorf("no control-plane node")
	}
	return b.nodes[n.Name], nil
}

// init runs kubeadm init on the first control plane with kprov's CA.
func (b *bootstrapper) init(ctx context.Context) error {
	cp, err := b.first()
	if err != nil {
		return err
	}
	cfgs, err := artifacts.KubeadmConfigs(b.cl.spec.Cluster, b.cl.nodes, b.cl.secrets)
	if err != nil {
		return err
	}
	cfg := cfgs[cp.Name()]
	// Before the CA goes in: kubeadm reset removes /etc/kubernetes/pki.
	if undone, err := kubeadmrun.Leftovers(ctx, cp, kubeadmrun.InitDone); err != nil {
		return err
	} else if undone {
		b.changed(1, "%s: kubeadm reset -f: undid an unfinished kubeadm init", cp.Name())
	}
	if placed, err := kubeadmrun.PlaceCA(ctx, cp, b.cl.secrets); err != nil {
		return err
	} else if placed {
		b.changed(1, "%s: cluster CA placed", cp.Name())
	}
	did, err := kubeadmrun.Init(ctx, cp, cfg, b.cl.spec.Cluster.Kubeadm.Patches)
	if did {
		b.changed(1, "%s: kubeadm init done", cp.Name())
	}
	return err
}

// kubeconfig fetches the admin kubeconfig into the state folder (0600).
func (b *bootstrapper) kubeconfig(ctx context.Context) error {
	cp, err := b.first()
	if err != nil {
		return err
	}
	data, err := cp.Download(ctx, kubeadmrun.AdminConf)
	if err != nil {
		return err
	}
	path := filepath.Join(b.cl.dir, state.KubeconfigFile)
	if have, err := os.ReadFile(path); err == nil && string(have) == string(data) {
		return nil
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	b.changed(1, "admin kubeconfig saved to %s (kprov kubeconfig prints or merges it)", path)
	return nil
}

// joinTries is how often a worker's join is tried when the API server is
// too busy to answer it.
const joinTries = 3

// join joins the other control planes one at a time (etcd grows one
// member at a time), then every worker at once.
func (b *bootstrapper) join(ctx context.Context) error {
	cp, err := b.first()
	if err != nil {
		return err
	}
	if made, err := kubeadmrun.EnsureToken(ctx, cp, b.cl.secrets.BootstrapToken); err != nil {
		return err
	} else if made {
		b.changed(1, "%s: bootstrap token re-created (the old one expired)", cp.Name())
	}
	// Planned before any join runs: kubeadm's scheme is not safe for
	// concurrent use. The same bytes render writes.
	cfgs, err := artifacts.KubeadmConfigs(b.cl.spec.Cluster, b.cl.nodes, b.cl.secrets)
	if err != nil {
		return err
	}
	joinOne := func(ctx context.Context, n *remote.Node) error {
		pn := b.planned(n.Name())
		if undone, err := kubeadmrun.Leftovers(ctx, n, kubeadmrun.JoinDone); err != nil {
			return err
		} else if undone {
			b.changed(1, "%s: kubeadm reset -f: undid an unfinished kubeadm join", n.Name())
		}
		did, err := kubeadmrun.Join(ctx, n, cfgs[n.Name()], b.cl.spec.Cluster.Kubeadm.Patches)
		// A worker's join that failed on a busy API server (seen under
		// emulation) is undone and tried again, twice at most.
		for try := 2; err != nil && pn.Role != spec.RoleControlPlane && try <= joinTries; try++ {
			slow, sign := kubeadmrun.Slow(err)
			if !slow {
				break
			}
			b.changed(1, "%s: kubeadm join failed on a busy API server (%s): reset, then try %d of %d", n.Name(), sign, try, joinTries)
			if ferr := kubeadmrun.Forget(ctx, n, cp, n.Name()); ferr != nil {
				return fmt.Errorf("%w\n(and undoing it for another try failed: %v)", err, ferr)
			}
			did, err = kubeadmrun.Join(ctx, n, cfgs[n.Name()], b.cl.spec.Cluster.Kubeadm.Patches)
		}
		if did {
			b.changed(1, "%s: joined as %s", n.Name(), pn.Role)
		}
		return err
	}
	var workers []*remote.Node
	for _, pn := range b.cl.nodes {
		n := b.nodes[pn.Name]
		switch {
		case n == cp:
		case pn.Role == spec.RoleControlPlane:
			if err := joinOne(ctx, n); err != nil {
				return err
			}
		default:
			workers = append(workers, n)
		}
	}
	return remote.Each(ctx, workers, b.parallel, joinOne)
}

func (b *bootstrapper) planned(name string) plan.Node {
	for _, n := range b.cl.nodes {
		if n.Name == name {
			return n
		}
	}
	return plan.Node{}
}

// binaries pins the sha256 of the image, of kubeadm, kubelet and kubectl
// and of the crictl tarball in kprov.lock.hcl (or, with --locked, refuses
// any change), then installs the binaries, the kubelet's units and
// /etc/crictl.yaml on every node, each binary checked against its pin
// before it is used.
func (b *bootstrapper) binaries(ctx context.Context) error {
	c := b.cl.spec.Cluster
	path := binaries.LockPath(b.specPath)
	lock, err := binaries.LoadLock(path)
	if err != nil {
		return err
	}
	pins := binaries.Expect(binaries.Pins(c), lock)
	if sum := b.imageSum(); sum != "" {
		for i := range pins {
			if pins[i].Name == "image" && pins[i].SHA256 == "" {
				pins[i].SHA256, pins[i].Origin = sum, binaries.FromContent
			}
		}
	}
	if pins, err = binaries.Resolve(ctx, binaries.HTTPFetcher{}, pins); err != nil {
		return err
	}
	// Manifests are pinned when the addons read them; the rest now.
	var known []binaries.Pin
	for _, p := range pins {
		if p.SHA256 != "" {
			known = append(known, p)
		}
	}
	mode := binaries.Record
	if b.locked {
		mode = binaries.Locked
	}
	drift, err := binaries.Sync(path, known, mode)
	if err != nil {
		return err
	}
	for _, d := range drift {
		b.changed(1, "%s: %s", path, d)
	}
	cmds, err := binaries.Commands(c, pins)
	if err != nil {
		return err
	}
	units, err := binaries.Units()
	if err != nil {
		return err
	}
	crictl, err := binaries.CrictlFile()
	if err != nil {
		return err
	}
	return remote.Each(ctx, b.all, b.parallel, func(ctx context.Context, n *remote.Node) error {
		srcs := binaries.Sources(c)
		for i, cmd := range cmds {
			out, err := n.Run(ctx, cmd)
			if err != nil && i < len(srcs) {
				return prepare.Unreachable(err, "the binaries source "+hostOf(srcs[i].URL), prepare.BinariesHint)
			}
			if err != nil {
				return err
			}
			if strings.Contains(out, "installed") {
				b.changed(1, "%s: %s", n.Name(), strings.TrimSpace(out))
			}
		}
		changed := false
		for _, u := range units {
			wrote, err := ensureFile(ctx, n, u)
			if err != nil {
				return err
			}
			changed = changed || wrote
		}
		enabled, err := n.Run(ctx, "systemctl is-enabled kubelet.service 2>/dev/null || true")
		if err != nil {
			return err
		}
		if changed || strings.TrimSpace(enabled) != "enabled" {
			if _, err := n.Run(ctx, binaries.EnableKubelet); err != nil {
				return err
			}
			b.changed(1, "%s: kubelet unit installed and enabled", n.Name())
		}
		if wrote, err := ensureFile(ctx, n, crictl); err != nil {
			return err
		} else if wrote {
			b.changed(1, "%s: wrote %s", n.Name(), crictl.Path)
		}
		return nil
	})
}

// ensureFile writes f on n unless n already has it with that content; it
// reports whether it wrote.
func ensureFile(ctx context.Context, n *remote.Node, f binaries.File) (bool, error) {
	have, err := n.Run(ctx, "cat "+remote.Quote(f.Path)+" 2>/dev/null || true")
	if err != nil {
		return false, err
	}
	if have == string(f.Content) {
		return false, nil
	}
	if _, err := n.Run(ctx, "mkdir -p "+remote.Quote(pathpkg.Dir(f.Path))); err != nil {
		return false, err
	}
	if err := n.Upload(ctx, f.Path, f.Content, fs.FileMode(f.Mode)); err != nil {
		return false, err
	}
	return true, nil
}

// hostOf is a URL's host, for messages.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}
