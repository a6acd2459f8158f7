package addonsrun

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// podReasons says why the pods of a workload are not ready: for each pod
// (at most three), its node and the first container that waits or failed,
// with the runtime's message. Empty when it cannot tell.
func (c *Client) podReasons(ctx context.Context, o *unstructured.Unstructured) string {
	sel, found, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
	if !found || len(sel) == 0 {
		return ""
	}
	list, err := c.Dynamic.Resource(podsResource).Namespace(o.GetNamespace()).List(ctx,
		metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
	if err != nil {
		return ""
	}
	return PodReasons(list.Items, 3)
}

// PodReasons summarizes why pods are not ready, at most max of them.
func PodReasons(pods []unstructured.Unstructured, max int) string {
	sort.Slice(pods, func(i, j int) bool { return pods[i].GetName() < pods[j].GetName() })
	var out []string
	for _, p := range pods {
		why := podReason(p)
		if why == "" {
			continue
		}
		node, _, _ := unstructured.NestedString(p.Object, "spec", "nodeName")
		if node == "" {
			node = "no node yet"
		}
		out = append(out, fmt.Sprintf("%s on %s: %s", p.GetName(), node, why))
		if len(out) == max {
			break
		}
	}
	return strings.Join(out, "; ")
}

// podReason is the first init container, then container, that waits (not
// merely for its turn) or last failed.
func podReason(p unstructured.Unstructured) string {
	for _, field := range []string{"initContainerStatuses", "containerStatuses"} {
		statuses, _, _ := unstructured.NestedSlice(p.Object, "status", field)
		for _, s := range statuses {
			m, _ := s.(map[string]any)
			if ready, _ := m["ready"].(bool); ready {
				continue
			}
			name, _ := m["name"].(string)
			kind := "container"
			if field == "initContainerStatuses" {
				kind = "init container"
			}
			if w, ok := nested(m, "state", "waiting"); ok {
				reason, _ := w["reason"].(string)
				if reason == "PodInitializing" || reason == "ContainerCreating" {
					continue
				}
				msg, _ := w["message"].(string)
				if msg == "" {
					if t, ok := nested(m, "lastState", "terminated"); ok {
						msg = fmt.Sprintf("exit code %v %v", t["exitCode"], t["message"])
					}
				}
				return strings.TrimSpace(fmt.Sprintf("%s %s: %s %s", kind, name, reason, msg))
			}
			if t, ok := nested(m, "state", "terminated"); ok && fmt.Sprint(t["exitCode"]) != "0" {
				return fmt.Sprintf("%s %s: exit code %v %v", kind, name, t["exitCode"], t["reason"])
			}
		}
	}
	phase, _, _ := unstructured.NestedString(p.Object, "status", "phase")
	if phase == "Pending" {
		for _, c := range conditions(p) {
			if c["type"] == "PodScheduled" && c["status"] == "False" {
				return fmt.Sprintf("not scheduled: %v", c["message"])
			}
		}
	}
	return ""
}

func nested(m map[string]any, keys ...string) (map[string]any, bool) {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, false
		}
		m = next
	}
	return m, true
}

func conditions(p unstructured.Unstructured) []map[string]any {
	list, _, _ := unstructured.NestedSlice(p.Object, "status", "conditions")
	var out []map[string]any
	for _, c := range list {
		if m, ok := c.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
