package addonsrun

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func pod(name, node string, status map[string]any) unstructured.Unstructured {
	return unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": name},
		"spec":     map[string]any{"nodeName": node},
		"status":   status,
	}}
}

// A rollout that times out names each stuck pod's node and the runtime's
// message (seen on the lab: calico-ipam unexecutable).
func TestPodReasons(t *testing.T) {
	pods := []unstructured.Unstructured{
		pod("calico-node-b", "worker-1", map[string]any{"initContainerStatuses": []any{
			map[string]any{"name": "upgrade-ipam", "ready": false, "state": map[string]any{"waiting": map[string]any{
				"reason": "RunContainerError", "message": `exec: "/opt/cni/bin/calico-ipam": permission denied`}}},
			map[string]any{"name": "install-cni", "ready": false, "state": map[string]any{"waiting": map[string]any{"reason": "PodInitializing"}}},
		}}),
		pod("calico-node-a", "cp-1", map[string]any{"containerStatuses": []any{
			map[string]any{"name": "calico-node", "ready": false, "state": map[string]any{"waiting": map[string]any{"reason": "CrashLoopBackOff"}},
				"lastState": map[string]any{"terminated": map[string]any{"exitCode": int64(1), "message": "bird: You may set only variables"}}},
		}}),
		pod("calico-node-c", "worker-2", map[string]any{"containerStatuses": []any{
			map[string]any{"name": "calico-node", "ready": true, "state": map[string]any{"running": map[string]any{}}},
		}}),
		pod("controller-1", "worker-1", map[string]any{"containerStatuses": []any{
			map[string]any{"name": "controller", "ready": false, "state": map[string]any{"waiting": map[string]any{"reason": "CrashLoopBackOff",
				"message": "back-off 5m0s restarting failed container=controller"}},
				"lastState": map[string]any{"terminated": map[string]any{"exitCode": int64(1), "reason": "Error"}}},
		}}),
		pod("coredns-x", "", map[string]any{"phase": "Pending", "conditions": []any{
			map[string]any{"type": "PodScheduled", "status": "False", "message": "0/3 nodes are available: 3 node(s) had untolerated taint"},
		}}),
	}
	// Only containers that ran and exited have a log to read.
	var asked []string
	logs := func(_ context.Context, ns, pod, container string) string {
		asked = append(asked, pod+"/"+container)
		if pod == "controller-1" {
			return "starting | failed to list *v1.Secret: dial tcp 10.96.0.1:443: i/o timeout"
		}
		return ""
	}
	got := PodReasons(context.Background(), pods, 4, logs)
	if strings.Join(asked, " ") != "calico-node-a/calico-node controller-1/controller" {
		t.Errorf("logs read for %q", asked)
	}
	for _, want := range []string{
		`calico-node-a on cp-1: container calico-node: CrashLoopBackOff exit code 1 bird: You may set only variables`,
		`controller-1 on worker-1: container controller: CrashLoopBackOff exit code 1 Error (its last log lines: starting | failed to list *v1.Secret: dial tcp 10.96.0.1:443: i/o timeout)`,
		`calico-node-b on worker-1: init container upgrade-ipam: RunContainerError exec: "/opt/cni/bin/calico-ipam": permission denied`,
		`coredns-x on no node yet: not scheduled: 0/3 nodes are available`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("reasons lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "calico-node-c") || strings.Contains(got, "PodInitializing") {
		t.Errorf("a ready pod or a waiting turn is reported:\n%s", got)
	}
	if got := PodReasons(context.Background(), pods, 1, nil); strings.Count(got, ";") != 0 || !strings.HasPrefix(got, "calico-node-a") {
		t.Errorf("max 1: %q", got)
	}
}
