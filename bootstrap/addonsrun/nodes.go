package addonsrun

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var nodesResource = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}

const nodesHint = "Look at the kubelet of those nodes (kprov ssh FILE NODE -- journalctl -u kubelet -n 50) and at calico-node's pods (kubectl -n kube-system get pods -o wide)."

// NodesReady waits up to timeout for every node named to be registered
// and Ready.
func (c *Client) NodesReady(ctx context.Context, names []string, timeout time.Duration) error {
	saved := c.RolloutTimeout
	c.RolloutTimeout = timeout
	defer func() { c.RolloutTimeout = saved }()
	return c.poll(ctx, "nodes", "nodes "+strings.Join(names, ", "), nodesHint, func(ctx context.Context) (bool, string, error) {
		list, err := c.Dynamic.Resource(nodesResource).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		done, status := NotReady(list.Items, names)
		return done, status, nil
	})
}

// NotReady says whether every node named is Ready among items and, if
// not, which are not and why.
func NotReady(items []unstructured.Unstructured, names []string) (bool, string) {
	seen := map[string]string{}
	for _, n := range items {
		status, reason := "Unknown", "no Ready condition yet"
		conds, _, _ := unstructured.NestedSlice(n.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Ready" {
				status, _ = m["status"].(string)
				reason, _ = m["message"].(string)
			}
		}
		if status == "True" {
			seen[n.GetName()] = ""
		} else {
			seen[n.GetName()] = reason
		}
	}
	var bad []string
	for _, name := range names {
		why, ok := seen[name]
		switch {
		case !ok:
			bad = append(bad, name+" not registered")
		case why != "":
			bad = append(bad, fmt.Sprintf("%s not Ready (%s)", name, why))
		}
	}
	slices.Sort(bad)
	if len(bad) == 0 {
		return true, fmt.Sprintf("%d nodes Ready", len(names))
	}
	return false, strings.Join(bad, "; ")
}
