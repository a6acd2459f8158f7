package kubeadm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kprov/kprov/provision/spec"
	"k8s.io/apimachinery/pkg/util/version"
)

// Upgrade is how a running cluster goes to the spec's Kubernetes version,
// as kubeadm's upgrade documentation has it: the first control plane runs
// `kubeadm upgrade apply TO`, the others `kubeadm upgrade node`, then every
// node, one at a time, is drained, gets the new kubelet and kubectl and is
// uncordoned.
type Upgrade struct {
	From, To string // v1.30.4, v1.30.14
	// Minor is true for a minor step (1.29 to 1.30), false for a patch.
	Minor bool
}

// None reports whether the cluster is already at the spec's version.
func (u Upgrade) None() bool { return u.From == u.To }

// Kind is "patch", "minor" or "none".
func (u Upgrade) Kind() string {
	switch {
	case u.None():
		return "none"
	case u.Minor:
		return "minor"
	}
	return "patch"
}

// DowngradeError refuses a kubernetes_version older than the cluster's:
// kubeadm has no downgrade.
type DowngradeError struct{ From, To string }

func (e *DowngradeError) Error() string {
	return fmt.Sprintf("kubernetes_version %s is older than the cluster's %s: kubeadm cannot downgrade a cluster. "+
		"Set kubernetes_version back to %s, or restore an etcd backup taken on the older version into a cluster made at it (kprov down, up, restore)",
		e.To, e.From, strings.TrimPrefix(e.From, "v"))
}

// SkewError refuses a jump of more than one minor version: kubeadm
// upgrades one minor version at a time. Steps are the versions to go
// through, in order, the last being the spec's.
type SkewError struct {
	From, To string
	Steps    []string
}

func (e *SkewError) Error() string {
	var runs []string
	for _, s := range e.Steps {
		runs = append(runs, fmt.Sprintf("kubernetes_version = %q", s))
	}
	return fmt.Sprintf("kubernetes_version %s is %d minor versions past the cluster's %s; kubeadm upgrades one minor version at a time. "+
		"Run up once with each of: %s (x: that minor's latest patch release)",
		e.To, len(e.Steps), e.From, strings.Join(runs, ", then "))
}

// PlanUpgrade says how a cluster at from goes to to: nothing, a patch, one
// minor step, or an error for a downgrade or a bigger jump.
func PlanUpgrade(from, to string) (Upgrade, error) {
	f, err := version.ParseSemantic(from)
	if err != nil {
		return Upgrade{}, fmt.Errorf("the cluster's version %q: %w", from, err)
	}
	t, err := version.ParseSemantic(to)
	if err != nil {
		return Upgrade{}, fmt.Errorf("kubernetes_version %q: %w", to, err)
	}
	u := Upgrade{From: "v" + f.String(), To: "v" + t.String(), Minor: t.Minor() != f.Minor() || t.Major() != f.Major()}
	switch {
	case t.EqualTo(f):
		return Upgrade{From: u.From, To: u.To}, nil
	case t.LessThan(f):
		return u, &DowngradeError{From: u.From, To: u.To}
	case t.Major() != f.Major():
		return u, fmt.Errorf("kubernetes_version %s is another major version than the cluster's %s: kubeadm cannot upgrade across it", u.To, u.From)
	case t.Minor() > f.Minor()+1:
		e := &SkewError{From: u.From, To: u.To}
		for m := f.Minor() + 1; m < t.Minor(); m++ {
			e.Steps = append(e.Steps, fmt.Sprintf("%d.%d.x", f.Major(), m))
		}
		e.Steps = append(e.Steps, strings.TrimPrefix(u.To, "v"))
		return u, e
	}
	return u, nil
}

// NotReadyChecks are the health checks of `kubeadm upgrade apply` that
// need Ready nodes and a pod network: a cluster whose control plane is not
// Ready (its addons never applied) skips them.
var NotReadyChecks = []string{"ControlPlaneNodesReady", "CreateJob"}

// UpgradeApplyArgs are the arguments of the first control plane's
// `kubeadm upgrade apply` to c's version: no prompt, the spec's ignored
// preflight checks and its patches (PatchesDir), as init had them; and
// NotReadyChecks ignored when notReady.
func UpgradeApplyArgs(c *spec.Cluster, notReady bool) []string {
	var extra []string
	if notReady {
		extra = NotReadyChecks
	}
	return append([]string{"upgrade", "apply", "--yes", c.Kubernetes().String()}, upgradeFlags(c, extra...)...)
}

// UpgradeNodeArgs are the arguments of `kubeadm upgrade node` on every
// other node: a control plane's static pods, then any node's kubelet
// configuration, at the cluster's new version.
func UpgradeNodeArgs(c *spec.Cluster) []string {
	return append([]string{"upgrade", "node"}, upgradeFlags(c)...)
}

func upgradeFlags(c *spec.Cluster, extraIgnores ...string) []string {
	var out []string
	k := c.Kubeadm
	if k == nil {
		k = &spec.Kubeadm{}
	}
	ignore := append([]string(nil), k.IgnorePreflightErrors...)
	all := false
	for _, name := range ignore {
		all = all || strings.EqualFold(name, "all")
	}
	if !all {
		for _, name := range extraIgnores {
			if !slices.ContainsFunc(ignore, func(s string) bool { return strings.EqualFold(s, name) }) {
				ignore = append(ignore, name)
			}
		}
	}
	if len(ignore) > 0 {
		out = append(out, "--ignore-preflight-errors="+strings.Join(ignore, ","))
	}
	if len(k.Patches) > 0 {
		out = append(out, "--patches", PatchesDir)
	}
	return out
}
