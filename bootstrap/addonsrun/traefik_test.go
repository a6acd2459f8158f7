package addonsrun_test

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/bootstrap/verify"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/spec"
)

// Traefik's published CRDs and ClusterRole, of kprov's default release.
var (
	traefikCRDs = judge.Module{Path: "github.com/traefik/traefik/v3", Version: spec.DefaultTraefikVersion, File: spec.TraefikCRDsFile}
	traefikRBAC = judge.Module{Path: "github.com/traefik/traefik/v3", Version: spec.DefaultTraefikVersion, File: spec.TraefikRBACFile}
)

var (
	ingresses     = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}
	ingressRoutes = schema.GroupVersionResource{Group: "traefik.io", Version: "v1alpha1", Resource: "ingressroutes"}
	accessReviews = schema.GroupVersionResource{Group: "authorization.k8s.io", Version: "v1", Resource: "subjectaccessreviews"}
)

// examples/modern.hcl as it is (Traefik behind MetalLB) on the real
// kube-apiserver 1.37: every object is accepted, verify passes, a second
// apply changes nothing; the IngressClass is the default one, Traefik's
// CRDs serve, and RBAC grants Traefik's providers to kprov's
// ServiceAccount, not to upstream's in namespace default.
func TestTraefikOn137(t *testing.T) {
	api := judge.StartAPIServer(t, "v1.37.2")
	c := load(t, "modern")
	c.Calico.Version = judge.CalicoCurrentVersion // the release of the calicoCurrent manifest it is given
	if c.Ingress == nil || c.Ingress.Controller != spec.ControllerTraefik {
		t.Fatalf("examples/modern.hcl ingress %+v, want controller traefik", c.Ingress)
	}
	steps, err := addons.Build(c, map[string]addons.Manifest{
		addons.CalicoManifest:       fromProxy(t, calicoCurrent),
		addons.LoadBalancerManifest: fromProxy(t, metallbV0152),
		addons.IngressCRDsManifest:  fromProxy(t, traefikCRDs),
		addons.IngressRBACManifest:  fromProxy(t, traefikRBAC),
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
	proxy, err := kubeadm.KubeProxyConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	standIns(t, dyn, cl, steps, proxy, map[string]any{"cidr": c.Calico.PoolCIDR, "ipipMode": "Never", "vxlanMode": "Never"}, c.Ingress.Addresses[0])
	if failed := verified(t, dyn, verify.Expect(c)); len(failed) > 0 {
		t.Fatalf("checks failed: %v", failed)
	}
	stop()
	before := versions(t, dyn, cl, steps)
	again := applyAll(t, cl, steps)
	if again.Created != 0 || again.Changed != 0 {
		t.Errorf("second apply: %+v", again)
	}
	for ref, v := range versions(t, dyn, cl, steps) {
		if before[ref] != v {
			t.Errorf("%s: resourceVersion %s -> %s", ref, before[ref], v)
		}
	}

	ctx := context.Background()
	// The DefaultIngressClass admission plugin gives a classless Ingress
	// kprov's IngressClass.
	ing := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
		"metadata": map[string]any{"name": "web", "namespace": "default"},
		"spec": map[string]any{"defaultBackend": map[string]any{
			"service": map[string]any{"name": "web", "port": map[string]any{"number": int64(80)}},
		}},
	}}
	got, err := dyn.Resource(ingresses).Namespace("default").Create(ctx, ing, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if class, _, _ := unstructured.NestedString(got.Object, "spec", "ingressClassName"); class != addons.TraefikClass {
		t.Errorf("a classless Ingress got class %q, want %q", class, addons.TraefikClass)
	}
	route := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute",
		"metadata": map[string]any{"name": "web", "namespace": "default"},
		"spec": map[string]any{"entryPoints": []any{"web"}, "routes": []any{map[string]any{
			"match": "Host(`web.example`)", "kind": "Rule",
			"services": []any{map[string]any{"name": "web", "port": int64(80)}},
		}}},
	}}
	if _, err := dyn.Resource(ingressRoutes).Namespace("default").Create(ctx, route, metav1.CreateOptions{}); err != nil {
		t.Errorf("an IngressRoute (Traefik's CRDs): %v", err)
	}

	ns := c.Ingress.Namespace
	for _, tc := range []struct {
		user                          string
		group, resource, verb, subres string
		allowed                       bool
	}{
		{"system:serviceaccount:" + ns + ":" + addons.TraefikName, "networking.k8s.io", "ingresses", "watch", "", true},
		{"system:serviceaccount:" + ns + ":" + addons.TraefikName, "networking.k8s.io", "ingresses", "update", "status", true},
		{"system:serviceaccount:" + ns + ":" + addons.TraefikName, "traefik.io", "ingressroutes", "list", "", true},
		{"system:serviceaccount:" + ns + ":" + addons.TraefikName, "discovery.k8s.io", "endpointslices", "watch", "", true},
		{"system:serviceaccount:" + ns + ":" + addons.TraefikName, "", "secrets", "delete", "", false},
		{"system:serviceaccount:default:traefik-ingress-controller", "networking.k8s.io", "ingresses", "watch", "", false},
	} {
		review := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
			"spec": map[string]any{"user": tc.user, "resourceAttributes": map[string]any{
				"group": tc.group, "resource": tc.resource, "verb": tc.verb, "subresource": tc.subres,
			}},
		}}
		r, err := dyn.Resource(accessReviews).Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if allowed, _, _ := unstructured.NestedBool(r.Object, "status", "allowed"); allowed != tc.allowed {
			t.Errorf("%s %s %s/%s %s: allowed %v, want %v", tc.user, tc.verb, tc.group, tc.resource, tc.subres, allowed, tc.allowed)
		}
	}
}
