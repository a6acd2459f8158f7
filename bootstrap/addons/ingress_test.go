package addons_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kprov/kprov/bootstrap/addons"
)

func service(t testing.TB, o addons.Object) *corev1.Service {
	t.Helper()
	var s corev1.Service
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

var lab = addons.Ingress{Namespace: "ingress-nginx", Service: "ingress-nginx", TrafficPolicy: "Local", Addresses: []string{"10.77.0.240"}}

// mandatory.yaml has no Service (upstream ships it in cloud-generic.yaml):
// kprov builds the same Service, and leaves every other object alone.
func TestIngressServiceBuiltLikeUpstream(t *testing.T) {
	orig := decode(t, upstream(t, nginx030))
	got, warnings, err := addons.PatchIngress("mandatory.yaml", decode(t, upstream(t, nginx030)), lab)
	if err != nil || len(warnings) != 0 {
		t.Fatal(err, warnings)
	}
	if len(got) != len(orig)+1 || !reflect.DeepEqual(objects(got[:len(orig)]), objects(orig)) {
		t.Fatal("patching changed the manifest's own objects")
	}
	svc := service(t, got[len(got)-1])
	want := service(t, decode(t, upstream(t, nginx030LB))[0])
	if !reflect.DeepEqual(svc.Spec, want.Spec) || !reflect.DeepEqual(svc.Labels, want.Labels) || svc.Name != want.Name || svc.Namespace != want.Namespace {
		t.Errorf("built Service:\n%+v\nupstream cloud-generic.yaml:\n%+v", svc, want)
	}
	if svc.Annotations[addons.AnnotationIPs] != "10.77.0.240" || svc.Annotations[addons.AnnotationPool] != addons.PoolName {
		t.Errorf("annotations %v", svc.Annotations)
	}
}

// With the provider file added the Service exists: kprov changes only its
// type, policy and annotations.
func TestIngressServicePatched(t *testing.T) {
	both := upstream(t, nginx030)
	both.Data = append(append(both.Data, []byte("\n---\n")...), upstream(t, nginx030LB).Data...)
	cluster := lab
	cluster.TrafficPolicy = "Cluster"
	for _, tc := range []struct {
		name string
		m    addons.Manifest
		in   addons.Ingress
	}{
		{"v0.30.0", both, cluster},
		{"current", fromProxy(t, nginxCurrent), addons.Ingress{Namespace: "ingress-nginx", Service: "ingress-nginx-controller", TrafficPolicy: "Local", Addresses: []string{"10.77.0.240", "10.77.0.241"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := decode(t, tc.m)
			got, warnings, err := addons.PatchIngress(tc.m.Source, decode(t, tc.m), tc.in)
			if err != nil || len(warnings) != 0 {
				t.Fatal(err, warnings)
			}
			if len(got) != len(orig) {
				t.Fatalf("%d objects, want %d", len(got), len(orig))
			}
			seen := false
			for i := range orig {
				if orig[i].GetKind() != "Service" || orig[i].GetName() != tc.in.Service {
					if !reflect.DeepEqual(orig[i].Object, got[i].Object) {
						t.Errorf("%s changed", addons.Ref(orig[i]))
					}
					continue
				}
				seen = true
				o, g := service(t, orig[i]), service(t, got[i])
				if g.Spec.Type != corev1.ServiceTypeLoadBalancer || string(g.Spec.ExternalTrafficPolicy) != tc.in.TrafficPolicy {
					t.Errorf("type %s policy %s", g.Spec.Type, g.Spec.ExternalTrafficPolicy)
				}
				if g.Annotations[addons.AnnotationIPs] != strings.Join(tc.in.Addresses, ",") {
					t.Errorf("annotations %v", g.Annotations)
				}
				o.Spec.Type, o.Spec.ExternalTrafficPolicy = g.Spec.Type, g.Spec.ExternalTrafficPolicy
				o.Annotations = g.Annotations
				if !reflect.DeepEqual(o, g) {
					t.Errorf("Service changed beyond type, policy and annotations:\n%+v\n%+v", o, g)
				}
			}
			if !seen {
				t.Fatal("no Service patched")
			}
		})
	}
}

func TestIngressWithoutControllerNamesTheProblem(t *testing.T) {
	in := lab
	in.Namespace = "traefik"
	_, _, err := addons.PatchIngress("mandatory.yaml", decode(t, upstream(t, nginx030)), in)
	if err == nil || !strings.Contains(err.Error(), "mandatory.yaml has no Service traefik/ingress-nginx") || !strings.Contains(err.Error(), "ingress.namespace") {
		t.Fatalf("got %v", err)
	}
}

// kprov's MetalLB pool has the shape of MetalLB's own sample.
func TestMetalLBPoolLikeUpstreamSample(t *testing.T) {
	sample := decode(t, fromProxy(t, metallbPoolDocs))
	pool := addons.MetalLBPool([]string{"10.77.0.240", "10.77.0.241"})
	if len(pool) != 2 || pool[0].GetKind() != "IPAddressPool" || pool[1].GetKind() != "L2Advertisement" {
		t.Fatalf("pool objects %v", objects(pool))
	}
	var sampleKinds []string
	for _, o := range sample {
		sampleKinds = append(sampleKinds, o.GetAPIVersion()+" "+o.GetKind())
	}
	if !strings.Contains(strings.Join(sampleKinds, ","), pool[0].GetAPIVersion()+" IPAddressPool") {
		t.Errorf("MetalLB's sample has %v, kprov writes %s", sampleKinds, pool[0].GetAPIVersion())
	}
	addrs, _, _ := unstructuredSlice(pool[0].Object, "spec", "addresses")
	if !reflect.DeepEqual(addrs, []any{"10.77.0.240/32", "10.77.0.241/32"}) {
		t.Errorf("addresses %v", addrs)
	}
}

// When no Service has service_name, kprov patches the one Service that
// selects the controller's pods, with a warning naming it; several such
// Services, or only Services that select something else, are an error
// naming them. It never adds a second Service. Upstream's manifests, edited
// here: a Service renamed, dropped or given another selector.
func TestIngressServiceBySelector(t *testing.T) {
	v030 := upstream(t, nginx030)
	v030.Data = append(append(v030.Data, []byte("\n---\n")...), upstream(t, nginx030LB).Data...)
	cur := fromProxy(t, nginxCurrent)
	in := func(service string) addons.Ingress {
		return addons.Ingress{Namespace: "ingress-nginx", Service: service, TrafficPolicy: "Local", Addresses: []string{"10.77.0.240"}}
	}
	rename := func(from, to string) func([]addons.Object) []addons.Object {
		return func(objs []addons.Object) []addons.Object {
			for _, o := range objs {
				if o.GetKind() == "Service" && o.GetName() == from {
					o.SetName(to)
				}
			}
			return objs
		}
	}
	drop := func(name string) func([]addons.Object) []addons.Object {
		return func(objs []addons.Object) []addons.Object {
			var out []addons.Object
			for _, o := range objs {
				if o.GetKind() != "Service" || o.GetName() != name {
					out = append(out, o)
				}
			}
			return out
		}
	}
	for _, tc := range []struct {
		name string
		m    addons.Manifest
		edit func([]addons.Object) []addons.Object
		in   addons.Ingress
		// picked is the Service patched (with a warning when it is not
		// in.Service); err the error instead.
		picked, warning, err string
	}{
		{name: "v0.30.0 named", m: v030, in: in("ingress-nginx"), picked: "ingress-nginx"},
		{name: "v0.30.0 under another name", m: v030, in: in("ingress-nginx-controller"), picked: "ingress-nginx",
			warning: v030.Source + ` has no Service ingress-nginx/ingress-nginx-controller: kprov patches Service ingress-nginx/ingress-nginx instead, the one Service that selects the pods of Deployment ingress-nginx/nginx-ingress-controller. Set ingress.service_name = "ingress-nginx" to say so.`},
		{name: "current renamed, admission Service left", m: cur, edit: rename("ingress-nginx-controller", "edge"), in: in("ingress-nginx-controller"),
			err: cur.Source + ` has no Service ingress-nginx/ingress-nginx-controller: Services edge, ingress-nginx-controller-admission all select the pods of Deployment ingress-nginx/ingress-nginx-controller, and kprov will not guess which one takes the traffic. Set ingress.service_name to one of them.`},
		{name: "current renamed, no admission Service", m: cur, edit: func(o []addons.Object) []addons.Object {
			return rename("ingress-nginx-controller", "edge")(drop("ingress-nginx-controller-admission")(o))
		}, in: in("ingress-nginx-controller"), picked: "edge",
			warning: cur.Source + ` has no Service ingress-nginx/ingress-nginx-controller: kprov patches Service ingress-nginx/edge instead, the one Service that selects the pods of Deployment ingress-nginx/ingress-nginx-controller. Set ingress.service_name = "edge" to say so.`},
		{name: "v0.30.0 Service selects other pods", m: v030, edit: func(objs []addons.Object) []addons.Object {
			for _, o := range objs {
				if o.GetKind() == "Service" {
					if err := unstructured.SetNestedStringMap(o.Object, map[string]string{"app": "default-http-backend"}, "spec", "selector"); err != nil {
						t.Fatal(err)
					}
				}
			}
			return objs
		}, in: in("ingress-nginx-controller"),
			err: v030.Source + ` has no Service ingress-nginx/ingress-nginx-controller: none of its Services in ingress-nginx (ingress-nginx) selects the pods of Deployment ingress-nginx/nginx-ingress-controller, and kprov will not add a second one. Set ingress.service_name to the controller's Service, or make that Service's selector match the controller's pod labels.`},
		{name: "v0.30.0 without its controller", m: v030, edit: func(objs []addons.Object) []addons.Object {
			return slices.DeleteFunc(objs, func(o addons.Object) bool { return o.GetKind() == "Deployment" })
		}, in: in("ingress-nginx-controller"),
			err: v030.Source + ` has no Service ingress-nginx/ingress-nginx-controller: its Services in ingress-nginx (ingress-nginx) are no ingress controller's: the namespace has no Deployment or DaemonSet with a container port named http. Set ingress.namespace and ingress.service_name to the manifest's.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := decode(t, tc.m)
			if tc.edit != nil {
				objs = tc.edit(objs)
			}
			n := len(objs)
			got, warnings, err := addons.PatchIngress(tc.m.Source, objs, tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got error  %v\nwant error %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{tc.warning}; tc.warning == "" && len(warnings) != 0 || tc.warning != "" && !reflect.DeepEqual(warnings, want) {
				t.Fatalf("warnings %q\nwant     %q", warnings, tc.warning)
			}
			if len(got) != n {
				t.Fatalf("%d objects, want %d: a Service was added", len(got), n)
			}
			for _, o := range got {
				if o.GetKind() != "Service" {
					continue
				}
				s := service(t, o)
				lb := s.Spec.Type == corev1.ServiceTypeLoadBalancer && s.Annotations[addons.AnnotationIPs] == "10.77.0.240"
				if lb != (s.Name == tc.picked) {
					t.Errorf("Service %s: type %s, annotations %v; want only %s patched", s.Name, s.Spec.Type, s.Annotations, tc.picked)
				}
			}
		})
	}
}
