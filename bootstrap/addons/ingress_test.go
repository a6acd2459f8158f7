package addons_test

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
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
	got, err := addons.PatchIngress("mandatory.yaml", decode(t, upstream(t, nginx030)), lab)
	if err != nil {
		t.Fatal(err)
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
			got, err := addons.PatchIngress(tc.m.Source, decode(t, tc.m), tc.in)
			if err != nil {
				t.Fatal(err)
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
	_, err := addons.PatchIngress("mandatory.yaml", decode(t, upstream(t, nginx030)), in)
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
