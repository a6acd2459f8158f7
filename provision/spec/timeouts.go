package spec

import (
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Timeouts bounds kprov's waits on the cluster; software emulation and
// slow links need more than the defaults.
type Timeouts struct {
	// Rollout bounds the wait for each addon workload to roll out (every
	// pod updated and available) and for each CRD to be served.
	Rollout string `hcl:"rollout,optional"`
	// NodesReady bounds the wait, after the last join, for every node to
	// report Ready.
	NodesReady string `hcl:"nodes_ready,optional"`
	// ControlPlane bounds kubeadm's wait for the control plane's
	// components to answer (init, and control-plane joins from 1.31);
	// empty: kubeadm's own 4m.
	ControlPlane string `hcl:"control_plane,optional"`

	Body hcl.Body `hcl:",body"`
}

// Default timeouts.
const (
	DefaultRolloutTimeout    = "5m"
	DefaultNodesReadyTimeout = "5m"
)

func (t *Timeouts) defaults() {
	def(&t.Rollout, DefaultRolloutTimeout)
	def(&t.NodesReady, DefaultNodesReadyTimeout)
}

func (v *validator) timeouts() {
	t := v.c.Timeouts
	for _, d := range []struct{ name, val string }{{"rollout", t.Rollout}, {"nodes_ready", t.NodesReady}} {
		if x, err := time.ParseDuration(d.val); err != nil || x < 10*time.Second || x > 2*time.Hour {
			v.errorf(v.at(t.Body, d.name), "Invalid timeouts."+d.name, "%q: use a duration between 10s and 2h, such as \"10m\".", d.val)
		}
	}
	if t.ControlPlane != "" {
		if x, err := time.ParseDuration(t.ControlPlane); err != nil || x < time.Minute || x > 2*time.Hour {
			v.errorf(v.at(t.Body, "control_plane"), "Invalid timeouts.control_plane", "%q: use a duration between 1m and 2h, such as \"15m\" (kubeadm waits 4m by default).", t.ControlPlane)
		}
		// kubeadm 1.30 moved the wait to an internal field that its
		// v1beta3 configuration does not fill (1.31's v1beta4 has it).
		if k := v.c.Kubernetes(); k.Valid() && k.Major() == 1 && k.Minor() == 30 {
			v.warnf(v.at(t.Body, "control_plane"), "kubeadm 1.30 ignores this timeout", "kubeadm 1.30 reads no control-plane timeout from its v1beta3 configuration: it waits its own 4m whatever timeoutForControlPlane says (1.29 and earlier honour it, 1.31 and later read timeouts.controlPlaneComponentHealthCheck, which kprov writes). Use another Kubernetes minor if the control plane needs longer to start.")
		}
	}
}

// RolloutTimeout is the parsed timeouts.rollout; valid after Check.
func (c *Cluster) RolloutTimeout() time.Duration {
	d, _ := time.ParseDuration(c.Timeouts.Rollout)
	return d
}

// NodesReadyTimeout is the parsed timeouts.nodes_ready; valid after Check.
func (c *Cluster) NodesReadyTimeout() time.Duration {
	d, _ := time.ParseDuration(c.Timeouts.NodesReady)
	return d
}

// ControlPlaneTimeout is the parsed timeouts.control_plane, 0 when unset
// (kubeadm's default); valid after Check.
func (c *Cluster) ControlPlaneTimeout() time.Duration {
	if c.Timeouts == nil || c.Timeouts.ControlPlane == "" {
		return 0
	}
	d, _ := time.ParseDuration(c.Timeouts.ControlPlane)
	return d
}
