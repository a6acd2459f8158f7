package spec

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// kubeadm's preflight minimums for a control-plane node.
const (
	MinControlPlaneMiB  = 1700
	MinControlPlaneVCPU = 2
	MinWorkerMiB        = 512
)

func (v *validator) pools() {
	c := v.c
	if len(c.NodePools) == 0 {
		v.errorf(c.DefRange.Ptr(), "No node pools", "Add at least one node_pool block with role = \"control-plane\"; see examples/cluster.hcl.")
		return
	}
	seen := map[string]*NodePool{}
	controlPlanes := 0
	for _, p := range c.NodePools {
		if first, ok := seen[p.Name]; ok {
			v.errorf(p.NameRange.Ptr(), "Duplicate node pool", "Node pool %q is already defined at %s; give each pool its own name.", p.Name, first.DefRange)
			continue
		}
		seen[p.Name] = p
		v.pool(p)
		if p.Role == RoleControlPlane && *p.Count > 0 {
			controlPlanes += *p.Count
		}
	}
	switch {
	case controlPlanes == 0:
		v.errorf(c.DefRange.Ptr(), "No control plane", "A cluster needs at least one node with role = \"control-plane\".")
	case controlPlanes%2 == 0:
		first := firstControlPlanePool(c)
		v.errorf(v.at(first.Body, "count"), "Even number of control planes",
			"%d control-plane nodes run %d etcd members, which survive no more failures than %d would; use %d or %d.",
			controlPlanes, controlPlanes, controlPlanes-1, controlPlanes-1, controlPlanes+1)
	}
}

func firstControlPlanePool(c *Cluster) *NodePool {
	for _, p := range c.NodePools {
		if p.Role == RoleControlPlane {
			return p
		}
	}
	return c.NodePools[0]
}

func (v *validator) pool(p *NodePool) {
	if errs := validation.IsDNS1123Label(p.Name); len(errs) > 0 {
		v.errorf(p.NameRange.Ptr(), "Invalid node pool name", "%q: %s. Node names are <pool>-<n>, so the pool name must be a DNS label.", p.Name, strings.Join(errs, "; "))
	} else if longest := fmt.Sprintf("%s-%d", p.Name, *p.Count); len(longest) > 63 {
		v.errorf(p.NameRange.Ptr(), "Node pool name too long", "Node name %q would exceed 63 characters; shorten the pool name.", longest)
	}
	v.oneOf(p.Body, "role", p.Role, RoleControlPlane, RoleWorker)
	if *p.Count < 0 || *p.Count > 5000 {
		v.errorf(v.at(p.Body, "count"), "Invalid count", "Node pool %q: count %d is outside 0-5000.", p.Name, *p.Count)
	}
	if p.VCPU < 1 || p.VCPU > 256 {
		v.errorf(v.at(p.Body, "vcpu"), "Invalid vcpu", "Node pool %q: vcpu %d is outside 1-256.", p.Name, p.VCPU)
	}
	minMiB := MinWorkerMiB
	if p.Role == RoleControlPlane {
		minMiB = MinControlPlaneMiB
		switch {
		case p.VCPU >= MinControlPlaneVCPU:
		case v.ignoresPreflight("NumCPU"):
			v.warnf(v.at(p.Body, "vcpu"), "Fewer vCPUs than kubeadm asks", "Node pool %q: kubeadm wants at least %d CPUs on a control-plane node; kubeadm { ignore_preflight_errors } lets %d through, and the control plane will be slow.", p.Name, MinControlPlaneVCPU, p.VCPU)
		default:
			v.errorf(v.at(p.Body, "vcpu"), "Too few vCPUs for a control plane", "Node pool %q: kubeadm requires at least %d CPUs on a control-plane node; set vcpu = %d (or, knowingly, add \"NumCPU\" to kubeadm { ignore_preflight_errors }).", p.Name, MinControlPlaneVCPU, MinControlPlaneVCPU)
		}
	}
	if p.MemoryMiB > 0 && p.MemoryMiB < minMiB {
		v.errorf(v.at(p.Body, "memory"), "Too little memory", "Node pool %q: %s (%d MiB) is below the %d MiB a %s node needs (kubeadm's preflight minimum for control planes); set memory = \"2GiB\" or more.", p.Name, p.Memory, p.MemoryMiB, minMiB, p.Role)
	}
	if _, err := ParseMiB(p.DiskSize); err == nil && p.DiskSizeGiB < 4 {
		v.errorf(v.at(p.Body, "disk_size"), "Disk too small", "Node pool %q: %s is too small for a Kubernetes node; use at least \"4GiB\" (\"10GiB\" or more leaves room for the container images).", p.Name, p.DiskSize)
	}
	v.oneOf(p.Body, "disk_bus", p.DiskBus, "nvme", "virtio")
	for _, k := range sortedKeys(p.Labels) {
		errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(p.Labels[k])...)
		if len(errs) > 0 {
			v.errorf(v.elem(p.Body, "labels", -1, k), "Invalid node label", "Node pool %q, label %q=%q: %s.", p.Name, k, p.Labels[k], strings.Join(errs, "; "))
		}
	}
	for i, t := range p.Taints {
		if _, err := ParseTaint(t); err != nil {
			v.errorf(v.elem(p.Body, "taints", i, ""), "Invalid taint", "Node pool %q, taint %q: %v. Write key[=value]:Effect, for example \"dedicated=gpu:NoSchedule\".", p.Name, t, err)
		}
	}
}

// Taint is a parsed "key[=value]:Effect".
type Taint struct{ Key, Value, Effect string }

// ParseTaint parses and checks "key[=value]:Effect".
func ParseTaint(s string) (Taint, error) {
	kv, effect, ok := strings.Cut(s, ":")
	if !ok {
		return Taint{}, fmt.Errorf("no effect")
	}
	key, value, _ := strings.Cut(kv, "=")
	if errs := validation.IsQualifiedName(key); len(errs) > 0 {
		return Taint{}, fmt.Errorf("key: %s", strings.Join(errs, "; "))
	}
	if errs := validation.IsValidLabelValue(value); len(errs) > 0 {
		return Taint{}, fmt.Errorf("value: %s", strings.Join(errs, "; "))
	}
	switch effect {
	case "NoSchedule", "PreferNoSchedule", "NoExecute":
		return Taint{Key: key, Value: value, Effect: effect}, nil
	}
	return Taint{}, fmt.Errorf("effect %q is not NoSchedule, PreferNoSchedule or NoExecute", effect)
}

// ignoresPreflight reports whether kubeadm { ignore_preflight_errors }
// lets the check named check (or all) through; kubeadm matches names
// without regard to case.
func (v *validator) ignoresPreflight(check string) bool {
	if v.c.Kubeadm == nil {
		return false
	}
	for _, e := range v.c.Kubeadm.IgnorePreflightErrors {
		if strings.EqualFold(e, check) || strings.EqualFold(e, "all") {
			return true
		}
	}
	return false
}
