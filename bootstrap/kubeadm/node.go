package kubeadm

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	kubeletapis "k8s.io/kubelet/pkg/apis"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	"k8s.io/kubernetes/pkg/util/taints"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

// Taints parses a pool's "key[=value]:Effect" taints. Nil stays nil, so
// kubeadm applies its default (the control-plane taint on control planes);
// an empty, non-nil list means no taints at all.
func Taints(specs []string) ([]corev1.Taint, error) {
	if specs == nil {
		return nil, nil
	}
	add, remove, err := taints.ParseTaints(specs)
	if err != nil {
		return nil, fmt.Errorf("taints: %w", err)
	}
	if len(remove) > 0 {
		return nil, fmt.Errorf("taints: %q removes a taint; only additions are allowed", remove[0].ToString()+"-")
	}
	if add == nil {
		add = []corev1.Taint{}
	}
	return add, nil
}

// KubeletLabels are the labels of n that the kubelet may set on its own Node
// (--node-labels). Keys under kubernetes.io or k8s.io other than the kubelet
// ones (node-role.kubernetes.io/..., say) are refused by the kubelet and the
// NodeRestriction admission plugin; see RestrictedLabels.
func KubeletLabels(n plan.Node) map[string]string {
	out := map[string]string{}
	for k, v := range n.Labels {
		if !restricted(k) {
			out[k] = v
		}
	}
	return out
}

// RestrictedLabels are the labels of n the kubelet may not set itself; a
// later step applies them through the API server with admin credentials.
func RestrictedLabels(n plan.Node) map[string]string {
	out := map[string]string{}
	for k, v := range n.Labels {
		if restricted(k) {
			out[k] = v
		}
	}
	return out
}

func restricted(key string) bool {
	ns, _, ok := strings.Cut(key, "/")
	if !ok {
		return false
	}
	for _, d := range []string{"kubernetes.io", "k8s.io"} {
		if ns == d || strings.HasSuffix(ns, "."+d) {
			return !kubeletapis.IsKubeletLabel(key)
		}
	}
	return false
}

// nodeRegistration is the kubelet side of a node: name, CRI socket, node IP,
// labels the kubelet may set and taints.
func nodeRegistration(c *spec.Cluster, n plan.Node) (kubeadmapi.NodeRegistrationOptions, error) {
	t, err := Taints(n.Taints)
	if err != nil {
		return kubeadmapi.NodeRegistrationOptions{}, fmt.Errorf("node %s: %w", n.Name, err)
	}
	args := []kubeadmapi.Arg{{Name: "node-ip", Value: n.IP.String()}}
	if l := KubeletLabels(n); len(l) > 0 {
		keys := make([]string, 0, len(l))
		for k := range l {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			keys[i] = k + "=" + l[k]
		}
		args = append(args, kubeadmapi.Arg{Name: "node-labels", Value: strings.Join(keys, ",")})
	}
	return kubeadmapi.NodeRegistrationOptions{
		Name:             n.Name,
		CRISocket:        CRISocket,
		Taints:           t,
		KubeletExtraArgs: args,
		// The spec's kubeadm { ignore_preflight_errors }, init and join alike.
		IgnorePreflightErrors: append([]string(nil), c.Kubeadm.IgnorePreflightErrors...),
	}, nil
}
