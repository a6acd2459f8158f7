package phases

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/bootstrap/addonsrun"
	"github.com/kprov/kprov/bootstrap/binaries"
	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/internal/phase"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// AddonPhases apply the cluster's networking after kubeadm: each phase
// applies its step of the addon plan and waits for it to roll out.
func (b *Bootstrapper) AddonPhases() []phase.Phase {
	step := func(names ...string) func(context.Context) error {
		return func(ctx context.Context) error { return b.applySteps(ctx, names...) }
	}
	return []phase.Phase{
		{Name: "addons/dns", Run: b.localDNS},
		{Name: "addons/calico", Run: step(addons.StepCalico)},
		{Name: "addons/nodes-ready", Run: b.nodesReady},
		{Name: "addons/load-balancer", Run: step(addons.StepLoadBalancer, addons.StepPool)},
		{Name: "addons/ingress", Run: step(addons.StepIngress)},
		{Name: "addons/policies", Run: step(addons.StepPolicies)},
	}
}

// localDNS keeps CoreDNS from forwarding to the nodes' resolvers when
// they have none (isolated networks, bridges without nameservers): it would
// not start ("no nameservers found"), and the cluster's names would not
// resolve either.
func (b *Bootstrapper) localDNS(ctx context.Context) error {
	if b.o.Cluster.NodesHaveDNS() {
		return nil
	}
	client, err := b.API()
	if err != nil {
		return err
	}
	changed, err := client.LocalDNS(ctx)
	if err != nil {
		return err
	}
	if changed {
		b.changed(1, "CoreDNS: the nodes have no DNS server, so it answers the cluster's names only (forward to /etc/resolv.conf removed from its Corefile; pods restarted)")
	}
	return nil
}

// nodesReady waits, once the CNI runs, for every node of the plan to be
// Ready (timeouts.nodes_ready).
func (b *Bootstrapper) nodesReady(ctx context.Context) error {
	client, err := b.API()
	if err != nil {
		return err
	}
	var names []string
	for _, n := range b.o.Nodes {
		names = append(names, n.Name)
	}
	return client.NodesReady(ctx, names, b.o.Cluster.NodesReadyTimeout())
}

// addonSteps fetches the manifests (checked against the spec's and the
// lock's sums, recorded in the lock) and builds the steps, once.
func (b *Bootstrapper) addonSteps(ctx context.Context) ([]addons.Step, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.steps != nil {
		return b.steps, nil
	}
	steps, err := BuildAddons(ctx, b.o.Cluster, b.o.SpecPath, b.o.Locked, func(format string, args ...any) {
		fmt.Fprintf(b.o.Out, "  "+format+"\n", args...)
	})
	if err != nil {
		return nil, err
	}
	b.steps = steps
	return steps, nil
}

// BuildAddons fetches the spec's manifests, checks and records their sums
// in the lock file next to the spec, and builds the addon steps.
func BuildAddons(ctx context.Context, c *spec.Cluster, specPath string, locked bool, logf func(string, ...any)) ([]addons.Step, error) {
	lockPath := lockfile.Path(specPath)
	lock, err := lockfile.Load(lockPath)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, w := range addons.Needs(c) {
		want[w.Name] = true
	}
	manifests := map[string]addons.Manifest{}
	var pins []binaries.Pin
	for _, p := range binaries.Expect(binaries.Pins(c), lock) {
		if !want[p.Name] {
			continue
		}
		m, sum, err := addonsrun.Fetch(ctx, p.Source, filepath.Dir(specPath), p.SHA256, string(p.Origin))
		if err != nil {
			return nil, fmt.Errorf("%s manifest: %w", p.Name, err)
		}
		manifests[p.Name] = m
		if p.SHA256 == "" {
			p.SHA256, p.Origin = sum, binaries.FromContent
		}
		pins = append(pins, p)
	}
	mode := binaries.Record
	if locked {
		mode = binaries.Locked
	}
	drift, err := binaries.Sync(lockPath, pins, mode)
	if err != nil {
		return nil, err
	}
	for _, d := range drift {
		logf("%s: %s", lockPath, d)
	}
	steps, err := addons.Build(c, manifests)
	for _, s := range steps {
		for _, w := range s.Warnings {
			logf("warning: %s", w)
		}
	}
	return steps, err
}

// API connects to the API server through the first control plane's SSH
// connection, with the admin kubeconfig kubeadm/kubeconfig saved.
func (b *Bootstrapper) API() (*addonsrun.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client != nil {
		return b.client, nil
	}
	cp, err := b.first()
	if err != nil {
		return nil, err
	}
	kc, err := ReadKubeconfig(b.o.StateDir)
	if err != nil {
		return nil, err
	}
	client, err := addonsrun.FromKubeconfig(kc, cp.DialContext)
	if err != nil {
		return nil, err
	}
	client.RolloutTimeout = b.o.Cluster.RolloutTimeout()
	b.client = client
	return client, nil
}

// ReadKubeconfig reads the admin kubeconfig from the state folder dir,
// or says to run kprov up when there is none.
func ReadKubeconfig(dir string) ([]byte, error) {
	path := filepath.Join(dir, state.KubeconfigFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no admin kubeconfig at %s: run kprov up (kubeadm/init and kubeadm/kubeconfig) first", path)
	}
	return data, err
}

func (b *Bootstrapper) applySteps(ctx context.Context, names ...string) error {
	steps, err := b.addonSteps(ctx)
	if err != nil {
		return err
	}
	client, err := b.API()
	if err != nil {
		return err
	}
	for _, s := range steps {
		if !contains(names, s.Name) {
			continue
		}
		r, err := client.Step(ctx, s)
		for _, t := range r.Touched {
			b.changed(1, "%s: %s", s.Name, t)
		}
		for _, w := range client.Warnings() {
			b.logf("%s: warning from the API server: %s", s.Name, w)
		}
		if err != nil {
			return err
		}
		if len(r.Touched) == 0 {
			b.logf("%s: %d objects unchanged", s.Name, r.Unchanged)
		}
	}
	return nil
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
