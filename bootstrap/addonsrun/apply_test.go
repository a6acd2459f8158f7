package addonsrun_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/bootstrap/addonsrun"
	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/bootstrap/verify"
	"github.com/kprov/kprov/internal/judge"
)

var (
	configMap = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	services  = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	ipPools   = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "ippools"}
)

func client(t *testing.T, api *judge.APIServer) *addonsrun.Client {
	t.Helper()
	c, err := addonsrun.New(api.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	c.RolloutTimeout, c.Poll = 2*time.Minute, 200*time.Millisecond
	return c
}

// withoutWebhooks drops MetalLB's ValidatingWebhookConfiguration: it
// sends every pool to a webhook served by MetalLB's controller pod, and a
// bare API server runs no pods (on a cluster the load-balancer step waits
// for that controller before the pool step).
func withoutWebhooks(steps []addons.Step) []addons.Step {
	out := make([]addons.Step, len(steps))
	for i, s := range steps {
		out[i] = addons.Step{Name: s.Name}
		for _, o := range s.Objects {
			if o.GetKind() != "ValidatingWebhookConfiguration" || !strings.HasPrefix(o.GetName(), "metallb") {
				out[i].Objects = append(out[i].Objects, o)
			}
		}
	}
	return out
}

// applyAll applies the steps in order.
func applyAll(t *testing.T, c *addonsrun.Client, steps []addons.Step) addonsrun.Result {
	t.Helper()
	var total addonsrun.Result
	for _, s := range steps {
		start := time.Now()
		r, err := c.Step(context.Background(), s)
		if err != nil {
			t.Fatalf("step %s: %v", s.Name, err)
		}
		t.Logf("step %-20s %2d created, %2d changed, %2d unchanged in %s", s.Name, r.Created, r.Changed, r.Unchanged, time.Since(start).Round(time.Millisecond))
		total.Created += r.Created
		total.Changed += r.Changed
		total.Unchanged += r.Unchanged
	}
	return total
}

func count(steps []addons.Step) int {
	n := 0
	for _, s := range steps {
		n += len(s.Objects)
	}
	return n
}

// versions reads the resourceVersion of every object of the steps.
func versions(t *testing.T, dyn dynamic.Interface, c *addonsrun.Client, steps []addons.Step) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, s := range steps {
		for _, o := range s.Objects {
			gvk := o.GroupVersionKind()
			m, err := c.Mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Fatal(err)
			}
			var r dynamic.ResourceInterface = dyn.Resource(m.Resource)
			if o.GetNamespace() != "" {
				r = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
			}
			got, err := r.Get(context.Background(), o.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatalf("%s: %v", addons.Ref(o), err)
			}
			out[addons.Ref(o)] = got.GetResourceVersion()
		}
	}
	return out
}

// standIns creates what a running cluster would have made on its own:
// kube-proxy's ConfigMap (kubeadm init, from kprov's configuration), the
// pool calico-node creates on first start from its environment, and the
// address MetalLB gives the ingress Service.
func standIns(t *testing.T, dyn dynamic.Interface, c *addonsrun.Client, steps []addons.Step, proxyConf []byte, pool map[string]any, lbIP string) {
	t.Helper()
	ctx := context.Background()
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "kube-proxy", "namespace": "kube-system"},
		"data":     map[string]any{"config.conf": string(proxyConf)},
	}}
	if _, err := dyn.Resource(configMap).Namespace("kube-system").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
		"metadata": map[string]any{"name": "default-ipv4-ippool"}, "spec": pool,
	}}
	if _, err := dyn.Resource(ipPools).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if lbIP == "" {
		return
	}
	for _, s := range steps {
		for _, o := range s.Objects {
			if o.GetKind() != "Service" || o.GetAnnotations()[addons.AnnotationIPs] == "" {
				continue
			}
			svc, err := dyn.Resource(services).Namespace(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_ = unstructured.SetNestedSlice(svc.Object, []any{map[string]any{"ip": lbIP}}, "status", "loadBalancer", "ingress")
			if _, err := dyn.Resource(services).Namespace(o.GetNamespace()).UpdateStatus(ctx, svc, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func verified(t *testing.T, dyn dynamic.Interface, e verify.Expected) (failed []string) {
	t.Helper()
	checks := verify.Cluster(context.Background(), dyn, e)
	var b strings.Builder
	verify.Print(&b, checks)
	t.Logf("verify:\n%s", b.String())
	for _, c := range checks {
		if !c.OK {
			failed = append(failed, c.Name+": "+c.Detail)
		}
	}
	if len(checks) < 10 {
		t.Errorf("only %d checks", len(checks))
	}
	return failed
}

// The early-2020 stack of examples/cluster.hcl (Calico v3.11, MetalLB for the ingress Service,
// ingress-nginx 0.30, default-deny) on the real kube-apiserver 1.21.
func TestV311StackOn121(t *testing.T) {
	api := judge.StartAPIServer(t, "v1.21.14")
	c := load(t, "cluster")
	steps, err := addons.Build(c, map[string]addons.Manifest{
		addons.CalicoManifest:       upstream(t, "calico/v3.11/calico.yaml"),
		addons.LoadBalancerManifest: fromProxy(t, metallbV0135),
		addons.IngressManifest:      upstream(t, "ingress-nginx/v0.30.0/deploy/static/mandatory.yaml"),
	})
	if err != nil {
		t.Fatal(err)
	}
	steps = withoutWebhooks(steps)
	cl := client(t, api)
	dyn := cl.Dynamic
	stop := judge.Controllers(dyn)
	first := applyAll(t, cl, steps)
	// Every object is new but the default namespace, which exists.
	if first.Created != count(steps)-1 {
		t.Fatalf("first apply: %+v of %d objects", first, count(steps))
	}
	// The server's deprecation warnings come back once each, not logged:
	// v3.11's CRDs and ingress-nginx 0.30's four RBAC kinds.
	if w := cl.Warnings(); len(w) != 5 || !strings.Contains(w[0], "apiextensions.k8s.io/v1beta1 CustomResourceDefinition is deprecated") ||
		!strings.Contains(w[1], "rbac.authorization.k8s.io/v1beta1 ClusterRole is deprecated") {
		t.Errorf("warnings %q", w)
	}
	proxy, err := kubeadm.KubeProxyConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	standIns(t, dyn, cl, steps, proxy, map[string]any{"cidr": c.Calico.PoolCIDR, "ipipMode": "Never", "vxlanMode": "Never", "natOutgoing": true}, c.Ingress.Addresses[0])
	e := verify.Expect(c)
	if failed := verified(t, dyn, e); len(failed) > 0 {
		t.Fatalf("checks failed: %v", failed)
	}
	stop()

	t.Run("second apply changes nothing", func(t *testing.T) {
		before := versions(t, dyn, cl, steps)
		again := applyAll(t, cl, steps)
		if again.Created != 0 || again.Changed != 0 || again.Unchanged != count(steps) {
			t.Errorf("second apply: %+v", again)
		}
		after := versions(t, dyn, cl, steps)
		for ref, v := range before {
			if after[ref] != v {
				t.Errorf("%s: resourceVersion %s -> %s", ref, v, after[ref])
			}
		}
	})

	t.Run("a hand edit shows in verify and apply restores it", func(t *testing.T) {
		ctx := context.Background()
		patch := `[{"op":"replace","path":"/spec/template/spec/containers/0/env/` + envIndex(t, dyn, "IP_AUTODETECTION_METHOD") + `/value","value":"first-found"}]`
		if _, err := dyn.Resource(daemonSets).Namespace("kube-system").Patch(ctx, "calico-node", types.JSONPatchType, []byte(patch), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatal(err)
		}
		failed := verified(t, dyn, e)
		if len(failed) != 1 || !strings.Contains(failed[0], "calico-node IP_AUTODETECTION_METHOD: first-found, want interface=eth0") {
			t.Fatalf("verify after the edit: %v", failed)
		}
		stop := judge.Controllers(dyn)
		defer stop()
		r, err := cl.Step(ctx, steps[0])
		if err != nil {
			t.Fatal(err)
		}
		if r.Changed != 1 || len(r.Touched) != 1 || r.Touched[0] != "changed DaemonSet kube-system/calico-node" {
			t.Errorf("re-apply: %+v", r)
		}
		if failed := verified(t, dyn, e); len(failed) > 0 {
			t.Errorf("after re-apply: %v", failed)
		}
	})

	t.Run("a rollout that never finishes names the object", func(t *testing.T) {
		short := client(t, api)
		short.RolloutTimeout = 2 * time.Second
		dep := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "stuck", "namespace": "default"},
			"spec": map[string]any{
				"selector": map[string]any{"matchLabels": map[string]any{"app": "stuck"}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": map[string]any{"app": "stuck"}},
					"spec":     map[string]any{"containers": []any{map[string]any{"name": "c", "image": "registry.invalid/stuck:1"}}},
				},
			},
		}}
		_, err := short.Step(context.Background(), addons.Step{Name: "test", Objects: []addons.Object{dep}})
		var we *addonsrun.WaitError
		if !errors.As(err, &we) || we.Object != "Deployment default/stuck" || !strings.Contains(err.Error(), "test: Deployment default/stuck not ready after 2s: generation 1 not yet seen by its controller") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("an object the server refuses is named", func(t *testing.T) {
		bad := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Service",
			"metadata": map[string]any{"name": "bad", "namespace": "default"},
			"spec":     map[string]any{"type": "LoadBalancer", "externalTrafficPolicy": "Sometimes", "ports": []any{map[string]any{"port": int64(80)}}},
		}}
		_, err := cl.Step(context.Background(), addons.Step{Name: "test", Objects: []addons.Object{bad}})
		var oe *addonsrun.ObjectError
		if !errors.As(err, &oe) || oe.Object != "Service default/bad" || !apierrors.IsInvalid(err) {
			t.Fatalf("got %v", err)
		}
		t.Logf("refused as expected: %v", err)
	})
}

func envIndex(t *testing.T, dyn dynamic.Interface, name string) string {
	t.Helper()
	ds, err := dyn.Resource(daemonSets).Namespace("kube-system").Get(context.Background(), "calico-node", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cs, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
	env, _ := cs[0].(map[string]any)["env"].([]any)
	for i, e := range env {
		if e.(map[string]any)["name"] == name {
			return strconv.Itoa(i)
		}
	}
	t.Fatalf("no env %s", name)
	return ""
}

// On a real API server with kubeadm's own CoreDNS ConfigMap: LocalDNS
// drops the forward and restarts CoreDNS once; a second run changes
// nothing.
func TestLocalDNS(t *testing.T) {
	api := judge.StartAPIServer(t, "v1.37.2")
	c := client(t, api)
	ctx := context.Background()
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "coredns", "namespace": "kube-system"},
		"data":     map[string]any{"Corefile": judge.KubeadmCorefile(t, "v1.37.2")},
	}}
	deploy := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec: {containers: [{name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.3}]}
`), &deploy.Object); err != nil {
		t.Fatal(err)
	}
	gvr := func(r, g string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: g, Version: "v1", Resource: r}
	}
	if _, err := c.Dynamic.Resource(gvr("deployments", "apps")).Namespace("kube-system").Create(ctx, deploy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Without kubeadm's CoreDNS there is nothing to change.
	if changed, err := c.LocalDNS(ctx); err != nil || changed {
		t.Fatalf("LocalDNS without a coredns ConfigMap: changed %v, %v", changed, err)
	}
	if _, err := c.Dynamic.Resource(gvr("configmaps", "")).Namespace("kube-system").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if changed, err := c.LocalDNS(ctx); err != nil || !changed {
		t.Fatalf("LocalDNS: changed %v, %v", changed, err)
	}
	got, _ := c.Dynamic.Resource(gvr("configmaps", "")).Namespace("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	corefile, _, _ := unstructured.NestedString(got.Object, "data", "Corefile")
	if strings.Contains(corefile, "forward") || !strings.Contains(corefile, "kubernetes cluster.local") {
		t.Errorf("Corefile after LocalDNS:\n%s", corefile)
	}
	d, _ := c.Dynamic.Resource(gvr("deployments", "apps")).Namespace("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if at, _, _ := unstructured.NestedString(d.Object, "spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"); at == "" {
		t.Error("CoreDNS's pods were not restarted (no restartedAt annotation)")
	}
	if changed, err := c.LocalDNS(ctx); err != nil || changed {
		t.Errorf("second LocalDNS: changed %v, %v", changed, err)
	}
	again, _ := c.Dynamic.Resource(gvr("deployments", "apps")).Namespace("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
	if again.GetResourceVersion() != d.GetResourceVersion() {
		t.Error("the second LocalDNS restarted CoreDNS again")
	}
}
