package addonsrun

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
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
	return PodReasons(ctx, list.Items, 3, c.previousLog)
}

// previousLog is the tail of a container's last run, which says why a
// crash-looping container exits: the runtime's status seldom does.
func (c *Client) previousLog(ctx context.Context, ns, pod, container string) string {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return ""
	}
	tail := int64(logLines)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container, Previous: true, TailLines: &tail, LimitBytes: ptr(int64(2048))}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(string(b), "\n", " | ")), " ")
}

func ptr[T any](v T) *T { return &v }

// logLines is how much of a crashed container's log a failure shows.
const logLines = 3

// LogFunc reads the tail of a container's previous run; nil reads none.
type LogFunc func(ctx context.Context, ns, pod, container string) string

// PodReasons summarizes why pods are not ready, at most max of them; for
// a container that crashed, logs adds the end of its last run.
func PodReasons(ctx context.Context, pods []unstructured.Unstructured, max int, logs LogFunc) string {
	sort.Slice(pods, func(i, j int) bool { return pods[i].GetName() < pods[j].GetName() })
	var out []string
	for _, p := range pods {
		why, crashed := podReason(p)
		if why == "" {
			continue
		}
		if crashed != "" && logs != nil {
			if tail := logs(ctx, p.GetNamespace(), p.GetName(), crashed); tail != "" {
				why += fmt.Sprintf(" (its last log lines: %s)", tail)
			}
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
// merely for its turn) or last failed; crashed names it when it has run
// and exited, so its log can say why.
func podReason(p unstructured.Unstructured) (why, crashed string) {
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
				if t, ok := nested(m, "lastState", "terminated"); ok {
					crashed = name
					if msg == "" || reason == "CrashLoopBackOff" {
						// "back-off 5m0s restarting failed container" says
						// less than how it last ended.
						msg = ended(t)
					}
				}
				return strings.TrimSpace(fmt.Sprintf("%s %s: %s %s", kind, name, reason, msg)), crashed
			}
			if t, ok := nested(m, "state", "terminated"); ok && fmt.Sprint(t["exitCode"]) != "0" {
				return fmt.Sprintf("%s %s: %s", kind, name, ended(t)), name
			}
		}
	}
	phase, _, _ := unstructured.NestedString(p.Object, "status", "phase")
	if phase == "Pending" {
		for _, c := range conditions(p) {
			if c["type"] == "PodScheduled" && c["status"] == "False" {
				return fmt.Sprintf("not scheduled: %v", c["message"]), ""
			}
		}
	}
	return "", ""
}

// ended says how a container's run ended: exit code, reason, message.
func ended(t map[string]any) string {
	out := fmt.Sprintf("exit code %v", t["exitCode"])
	for _, k := range []string{"reason", "message"} {
		if v, _ := t[k].(string); strings.TrimSpace(v) != "" {
			out += " " + strings.TrimSpace(v)
		}
	}
	return out
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
