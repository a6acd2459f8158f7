package addonsrun

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func node(name, ready, msg string) unstructured.Unstructured {
	u := unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": name}}}
	if ready != "" {
		u.Object["status"] = map[string]any{"conditions": []any{
			map[string]any{"type": "MemoryPressure", "status": "False"},
			map[string]any{"type": "Ready", "status": ready, "message": msg},
		}}
	}
	return u
}

func TestNotReady(t *testing.T) {
	items := []unstructured.Unstructured{
		node("cp-1", "True", "kubelet is posting ready status"),
		node("worker-1", "False", "container runtime network not ready: cni plugin not initialized"),
		node("worker-3", "", ""),
	}
	done, status := NotReady(items, []string{"cp-1"})
	if !done || status != "1 nodes Ready" {
		t.Errorf("cp-1 alone: %v %q", done, status)
	}
	done, status = NotReady(items, []string{"cp-1", "worker-1", "worker-2", "worker-3"})
	if done {
		t.Fatal("reported Ready with worker-1 not Ready")
	}
	for _, want := range []string{"worker-1 not Ready (container runtime network not ready", "worker-2 not registered", "worker-3 not Ready (no Ready condition yet)"} {
		if !strings.Contains(status, want) {
			t.Errorf("status %q lacks %q", status, want)
		}
	}
	if strings.Contains(status, "cp-1") {
		t.Errorf("status names the Ready cp-1: %q", status)
	}
}
