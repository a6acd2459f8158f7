package addonsrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/drain"
	"sigs.k8s.io/yaml"
)

// UpgradingAnnotation marks a node kprov cordoned for an upgrade, with the
// version it goes to: only such a node is uncordoned by kprov, so a node a
// user cordoned stays cordoned.
const UpgradingAnnotation = "kprov.dev/upgrading-to"

// NodeInfo is what an upgrade needs to know of a Node.
type NodeInfo struct {
	Name           string
	KubeletVersion string
	Ready          bool
	Unschedulable  bool
	// UpgradingTo is UpgradingAnnotation's value, "" when absent.
	UpgradingTo string
}

// Node reads one Node; ok is false when the cluster has none of that name.
func (c *Client) Node(ctx context.Context, name string) (NodeInfo, bool, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return NodeInfo{}, false, err
	}
	n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return NodeInfo{}, false, nil
	}
	if err != nil {
		return NodeInfo{}, false, fmt.Errorf("node %s: %w", name, err)
	}
	return nodeInfo(n), true, nil
}

func nodeInfo(n *corev1.Node) NodeInfo {
	info := NodeInfo{Name: n.Name, KubeletVersion: n.Status.NodeInfo.KubeletVersion,
		Unschedulable: n.Spec.Unschedulable, UpgradingTo: n.Annotations[UpgradingAnnotation]}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			info.Ready = c.Status == corev1.ConditionTrue
		}
	}
	return info
}

// ClusterVersion is the kubernetesVersion of kubeadm's
// ClusterConfiguration (ConfigMap kube-system/kubeadm-config): the version
// `kubeadm upgrade apply` last brought the control plane to.
func (c *Client) ClusterVersion(ctx context.Context) (string, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return "", err
	}
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "kubeadm-config", metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("read kube-system/kubeadm-config: %w", err)
	}
	var cfg struct {
		KubernetesVersion string `json:"kubernetesVersion"`
	}
	if err := yaml.Unmarshal([]byte(cm.Data["ClusterConfiguration"]), &cfg); err != nil || cfg.KubernetesVersion == "" {
		return "", fmt.Errorf("kube-system/kubeadm-config has no ClusterConfiguration.kubernetesVersion (%v)", err)
	}
	return cfg.KubernetesVersion, nil
}

// annotate sets (or, with value "", removes) UpgradingAnnotation.
func annotate(ctx context.Context, cs kubernetes.Interface, name, value string) error {
	var v any
	if value != "" {
		v = value
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{UpgradingAnnotation: v}}})
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// Drain marks a node as being upgraded to version, cordons it and evicts
// its pods as `kubectl drain --ignore-daemonsets --delete-emptydir-data`
// does (PodDisruptionBudgets honoured, within timeout).
func (c *Client) Drain(ctx context.Context, name, version string, timeout time.Duration, out io.Writer) error {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	if err := annotate(ctx, cs, name, version); err != nil {
		return fmt.Errorf("mark node %s as upgrading: %w", name, err)
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node %s: %w", name, err)
	}
	h := &drain.Helper{
		Ctx: ctx, Client: cs,
		Force: true, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
		GracePeriodSeconds: -1, Timeout: timeout,
		Out: out, ErrOut: out,
	}
	if err := drain.RunCordonOrUncordon(h, node, true); err != nil {
		return fmt.Errorf("cordon %s: %w", name, err)
	}
	if err := drain.RunNodeDrain(h, name); err != nil {
		return fmt.Errorf("drain %s: %w; its pods may be held by a PodDisruptionBudget (kubectl get pdb -A) or slow to stop: run up again, or drain it by hand", name, err)
	}
	return nil
}

// Uncordon makes a node kprov drained for an upgrade schedulable again and
// removes the mark. A node without the mark is left as it is.
func (c *Client) Uncordon(ctx context.Context, name string) (bool, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return false, err
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return false, fmt.Errorf("node %s: %w", name, err)
	}
	if node.Annotations[UpgradingAnnotation] == "" {
		return false, nil
	}
	h := &drain.Helper{Ctx: ctx, Client: cs, Out: io.Discard, ErrOut: io.Discard}
	if err := drain.RunCordonOrUncordon(h, node, false); err != nil {
		return false, fmt.Errorf("uncordon %s: %w", name, err)
	}
	if err := annotate(ctx, cs, name, ""); err != nil {
		return false, fmt.Errorf("unmark node %s: %w", name, err)
	}
	return true, nil
}

// WaitKubelet waits up to timeout until node's kubelet reports version
// and, when ready, the node is Ready.
func (c *Client) WaitKubelet(ctx context.Context, name, version string, ready bool, timeout time.Duration) error {
	saved := c.RolloutTimeout
	c.RolloutTimeout = timeout
	defer func() { c.RolloutTimeout = saved }()
	want := "kubelet " + version
	if ready {
		want += ", Ready"
	}
	return c.poll(ctx, "upgrade", "node "+name+" ("+want+")", nodesHint, func(ctx context.Context) (bool, string, error) {
		n, ok, err := c.Node(ctx, name)
		if err != nil || !ok {
			return false, "not registered", err
		}
		status := fmt.Sprintf("kubelet %s, Ready %t", n.KubeletVersion, n.Ready)
		return n.KubeletVersion == version && (n.Ready || !ready), status, nil
	})
}

// Nodes is every registered node, by name.
func (c *Client) Nodes(ctx context.Context) (map[string]NodeInfo, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	out := map[string]NodeInfo{}
	for i := range list.Items {
		out[list.Items[i].Name] = nodeInfo(&list.Items[i])
	}
	return out, nil
}

// SetImageTags makes kubeadm-config's ClusterConfiguration name etcdTag
// and dnsTag, the etcd and CoreDNS tags of the version an upgrade goes to:
// kprov pins both at init, and `kubeadm upgrade apply` keeps a pinned tag
// rather than moving to its own release's. Every other field is kept.
// etcd is never moved to an older tag (kubeadm would refuse): kept is the
// newer tag it keeps, if so. It reports whether it changed the ConfigMap.
func (c *Client) SetImageTags(ctx context.Context, etcdTag, dnsTag string) (changed bool, kept string, err error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return false, "", err
	}
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "kubeadm-config", metav1.GetOptions{})
	if err != nil {
		return false, "", fmt.Errorf("read kube-system/kubeadm-config: %w", err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["ClusterConfiguration"]), &cfg); err != nil || cfg == nil {
		return false, "", fmt.Errorf("kube-system/kubeadm-config: ClusterConfiguration does not parse (%v)", err)
	}
	set := func(tag string, path ...string) string {
		m := cfg
		for _, k := range path {
			next, ok := m[k].(map[string]any)
			if !ok {
				if k == "local" {
					return "" // external etcd: not kubeadm's to upgrade
				}
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		if have, _ := m["imageTag"].(string); path[0] == "etcd" && newer(have, tag) {
			return have
		}
		if m["imageTag"] != tag {
			m["imageTag"], changed = tag, true
		}
		return ""
	}
	kept = set(etcdTag, "etcd", "local")
	set(dnsTag, "dns")
	if !changed {
		return false, kept, nil
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return false, "", err
	}
	cm.Data["ClusterConfiguration"] = string(data)
	if _, err := cs.CoreV1().ConfigMaps("kube-system").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return false, "", fmt.Errorf("update kube-system/kubeadm-config: %w", err)
	}
	return true, kept, nil
}

// newer says whether image tag a is a newer version than b.
func newer(a, b string) bool {
	va, err := version.ParseSemantic(a)
	if err != nil {
		return false
	}
	vb, err := version.ParseSemantic(b)
	return err == nil && va.GreaterThan(vb)
}
