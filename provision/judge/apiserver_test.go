package judge

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The releases the API server judge is tested with: the oldest and the
// newest kprov supports.
var apiServerVersions = []string{"v1.21.14", "v1.37.2"}

// The judge starts a real API server that stores and serves a ConfigMap,
// reports its own release, and is gone, etcd with it, after Stop.
func TestAPIServer(t *testing.T) {
	for _, v := range apiServerVersions {
		t.Run(v, func(t *testing.T) {
			a := StartAPIServer(t, v)
			if fi, err := os.Stat(a.Kubeconfig); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("kubeconfig %s: %v, mode %v; want mode 0600", a.Kubeconfig, err, fi.Mode().Perm())
			}
			cs, err := kubernetes.NewForConfig(a.RESTConfig(t))
			if err != nil {
				t.Fatal(err)
			}
			ctx := bounded(t)

			sv, err := cs.Discovery().ServerVersion()
			if err != nil {
				t.Fatal(err)
			}
			if sv.GitVersion != v {
				t.Errorf("server version %q, want %q", sv.GitVersion, v)
			}

			want := map[string]string{"judge": "kprov", "version": v}
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "kprov-judge", Namespace: "default"},
				Data:       want,
			}
			if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create ConfigMap: %v", err)
			}
			got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "kprov-judge", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get ConfigMap: %v", err)
			}
			if len(got.Data) != len(want) || got.Data["judge"] != "kprov" || got.Data["version"] != v || got.UID == "" {
				t.Errorf("ConfigMap read back: uid %q, data %v; want data %v", got.UID, got.Data, want)
			}

			// Server-side apply types fields by the served OpenAPI
			// definitions, which build.sh generates for 1.21.
			raw, err := cs.Discovery().RESTClient().Get().AbsPath("/openapi/v2").DoRaw(ctx)
			if err != nil {
				t.Fatalf("GET /openapi/v2: %v", err)
			}
			var doc struct {
				Definitions map[string]json.RawMessage `json:"definitions"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatalf("/openapi/v2: %v", err)
			}
			if _, ok := doc.Definitions["io.k8s.api.core.v1.ConfigMap"]; !ok || len(doc.Definitions) < 100 {
				t.Errorf("/openapi/v2 has %d definitions, ConfigMap's: %v", len(doc.Definitions), ok)
			}
			applied, err := cs.CoreV1().ConfigMaps("default").Apply(ctx,
				corev1ac.ConfigMap("kprov-judge", "default").WithData(map[string]string{"applied": "yes"}),
				metav1.ApplyOptions{FieldManager: "kprov-judge", Force: true})
			if err != nil {
				t.Fatalf("server-side apply: %v", err)
			}
			managers := map[string]metav1.ManagedFieldsOperationType{}
			for _, m := range applied.ManagedFields {
				managers[m.Manager] = m.Operation
			}
			if applied.Data["applied"] != "yes" || applied.Data["judge"] != "kprov" || managers["kprov-judge"] != metav1.ManagedFieldsOperationApply {
				t.Errorf("server-side apply: data %v, managers %v", applied.Data, managers)
			}

			api, etcd := a.PIDs()
			if api == 0 || etcd == 0 || !alive(api) || !alive(etcd) {
				t.Fatalf("before Stop: kube-apiserver pid %d alive %v, etcd pid %d alive %v", api, alive(api), etcd, alive(etcd))
			}
			start := time.Now()
			a.Stop()
			t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
			a.Stop() // idempotent: the cleanup calls it again
			for name, pid := range map[string]int{"kube-apiserver": api, "etcd": etcd} {
				if alive(pid) {
					t.Errorf("%s pid %d still exists after Stop", name, pid)
				}
			}
			if _, err := cs.Discovery().ServerVersion(); err == nil {
				t.Error("the API server still answers after Stop")
			}
		})
	}
}

// The judge can say no: a CustomResourceDefinition of
// apiextensions.k8s.io/v1beta1 is accepted by 1.21 and refused by 1.37,
// which no longer serves that version; the same CRD as v1 is accepted by
// both.
func TestAPIServerRefusesV1beta1CRD(t *testing.T) {
	v1beta1 := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1beta1", Resource: "customresourcedefinitions"}
	v1 := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, tc := range []struct {
		version string
		v1beta1 bool // accepted
	}{
		{"v1.21.14", true},
		{"v1.37.2", false},
	} {
		t.Run(tc.version, func(t *testing.T) {
			a := StartAPIServer(t, tc.version)
			cfg := a.RESTConfig(t)
			cfg.WarningHandler = warningLogger{t}
			dc, err := dynamic.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := bounded(t)

			_, err = dc.Resource(v1beta1).Create(ctx, widgetsV1beta1(), metav1.CreateOptions{})
			switch {
			case tc.v1beta1 && err != nil:
				t.Errorf("kube-apiserver %s refused an apiextensions.k8s.io/v1beta1 CRD: %v", tc.version, err)
			case !tc.v1beta1 && err == nil:
				t.Errorf("kube-apiserver %s accepted an apiextensions.k8s.io/v1beta1 CRD", tc.version)
			case !tc.v1beta1 && !apierrors.IsNotFound(err):
				t.Errorf("kube-apiserver %s refused the v1beta1 CRD, but not for want of the API version: %v", tc.version, err)
			case err != nil:
				t.Logf("kube-apiserver %s says no: %v", tc.version, err)
			}

			name := "gadgets.judge.kprov.test"
			if _, err := dc.Resource(v1).Create(ctx, gadgetsV1(name), metav1.CreateOptions{}); err != nil {
				t.Errorf("kube-apiserver %s refused an apiextensions.k8s.io/v1 CRD: %v", tc.version, err)
			}
			if _, err := dc.Resource(v1).Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("get the v1 CRD back: %v", err)
			}
		})
	}
}

func widgetsV1beta1() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1beta1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "widgets.judge.kprov.test"},
		"spec": map[string]any{
			"group":   "judge.kprov.test",
			"version": "v1",
			"scope":   "Namespaced",
			"names": map[string]any{
				"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList",
			},
		},
	}}
}

func gadgetsV1(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"group": "judge.kprov.test",
			"scope": "Namespaced",
			"names": map[string]any{
				"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList",
			},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}}
}

// alive tells whether a process of that id exists (a reaped child does not).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// bounded is a context for a test's calls to the API server.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// warningLogger logs the API server's warnings (deprecated APIs) in the test.
type warningLogger struct{ t *testing.T }

func (w warningLogger) HandleWarningHeader(code int, agent, text string) {
	w.t.Logf("warning from the API server: %s", text)
}

var _ rest.WarningHandler = warningLogger{}
