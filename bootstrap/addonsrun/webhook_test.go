package addonsrun_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/internal/judge"
)

var webhooks = schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}

// An admission webhook that refuses connections (its pod not serving yet)
// fails an apply on a real API server; the apply is made again until it
// passes, within the rollout timeout, and then says how long it tried.
// An error that does not pass by itself (an invalid name) is not retried.
func TestApplyWaitsForAWebhook(t *testing.T) {
	api := judge.StartAPIServer(t, "v1.37.2")
	cl := client(t, api)
	ctx := context.Background()
	// A loopback port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + l.Addr().String() + "/validate"
	l.Close()
	hook := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
		"metadata": map[string]any{"name": "not-serving-yet"},
		"webhooks": []any{map[string]any{
			"name": "configmaps.kprov.test", "clientConfig": map[string]any{"url": url},
			"rules":         []any{map[string]any{"apiGroups": []any{""}, "apiVersions": []any{"v1"}, "operations": []any{"CREATE", "UPDATE"}, "resources": []any{"configmaps"}}},
			"failurePolicy": "Fail", "sideEffects": "None", "admissionReviewVersions": []any{"v1"},
			"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kprov.test/webhook": "on"}},
		}},
	}}
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": "hooked", "labels": map[string]any{"kprov.test/webhook": "on"}}}}
	cm := func(name string) addons.Object {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "hooked"}, "data": map[string]any{"a": "b"}}}
	}
	applyAll(t, cl, []addons.Step{{Name: "setup", Objects: []addons.Object{ns, hook}}})

	// The webhook stays down: the apply gives up after the timeout.
	cl.RolloutTimeout = 3 * time.Second
	_, err = cl.Step(ctx, addons.Step{Name: "pool", Objects: []addons.Object{cm("refused")}})
	if err == nil || !strings.Contains(err.Error(), "failed calling webhook") || !strings.Contains(err.Error(), "still failing after 3s") {
		t.Fatalf("with the webhook down: %v", err)
	}

	// The webhook goes away while the apply waits: it passes.
	cl.RolloutTimeout = 2 * time.Minute
	gone := time.AfterFunc(3*time.Second, func() {
		if err := cl.Dynamic.Resource(webhooks).Delete(ctx, "not-serving-yet", metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete the webhook: %v", err)
		}
	})
	defer gone.Stop()
	start := time.Now()
	r, err := cl.Step(ctx, addons.Step{Name: "pool", Objects: []addons.Object{cm("waited")}})
	if err != nil || r.Created != 1 {
		t.Fatalf("apply while the webhook went away: %+v %v", r, err)
	}
	if waited := time.Since(start); waited < 2*time.Second {
		t.Errorf("applied after %s, before the webhook went away", waited)
	}
	t.Logf("applied %s after the first try; the webhook went away at 3s", time.Since(start).Round(time.Millisecond))

	// Refused for good: at once, without "still failing".
	_, err = cl.Step(ctx, addons.Step{Name: "bad", Objects: []addons.Object{cm("Not_A_Name")}})
	if err == nil || strings.Contains(err.Error(), "still failing") || !strings.Contains(err.Error(), "Not_A_Name") {
		t.Fatalf("invalid name: %v", err)
	}
}
