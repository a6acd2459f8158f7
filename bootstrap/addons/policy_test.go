package addons_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/internal/judge"
)

func networkPolicy(t testing.TB, o addons.Object) *networkingv1.NetworkPolicy {
	t.Helper()
	var p networkingv1.NetworkPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// kprov's default-deny policies mean what the upstream examples mean.
func TestDefaultDenyMatchesUpstream(t *testing.T) {
	for _, tc := range []struct {
		egress  bool
		example string
	}{
		{false, denyIngress},
		{true, denyAll},
		{true, denyAllKYAML},
	} {
		objs, err := addons.Policies(addons.Policy{Namespaces: []string{"default", "shop"}, DenyEgress: tc.egress})
		if err != nil {
			t.Fatal(err)
		}
		want := networkPolicy(t, decode(t, upstream(t, tc.example))[0])
		var denies, dns int
		for _, o := range objs {
			switch {
			case o.GetKind() == "Namespace":
			case o.GetName() == addons.DenyPolicy:
				denies++
				got := networkPolicy(t, o)
				if !samePolicy(got.Spec, want.Spec) {
					t.Errorf("%s: %+v, upstream %s: %+v", addons.Ref(o), got.Spec, tc.example, want.Spec)
				}
			case o.GetName() == addons.AllowDNSPolicy:
				dns++
				p := networkPolicy(t, o)
				if len(p.Spec.Egress) != 1 || len(p.Spec.Egress[0].Ports) != 2 || p.Spec.Egress[0].Ports[0].Port.IntValue() != 53 {
					t.Errorf("allow-dns: %+v", p.Spec)
				}
			default:
				t.Errorf("unexpected %s", addons.Ref(o))
			}
		}
		if denies != 2 || (tc.egress && dns != 2) || (!tc.egress && dns != 0) {
			t.Errorf("egress=%v: %d deny, %d dns policies", tc.egress, denies, dns)
		}
	}
}

// samePolicy compares what selects and what is denied: an empty selector
// and an empty matchLabels both select every pod; policyTypes defaults to
// Ingress.
func samePolicy(a, b networkingv1.NetworkPolicySpec) bool {
	types := func(s networkingv1.NetworkPolicySpec) []networkingv1.PolicyType {
		if len(s.PolicyTypes) == 0 {
			return []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		}
		return s.PolicyTypes
	}
	return len(a.PodSelector.MatchLabels) == 0 && len(a.PodSelector.MatchExpressions) == 0 &&
		len(b.PodSelector.MatchLabels) == 0 && len(b.PodSelector.MatchExpressions) == 0 &&
		reflect.DeepEqual(types(a), types(b)) && len(a.Ingress) == len(b.Ingress) && len(a.Egress) == len(b.Egress)
}

func TestGlobalDefaultDeny(t *testing.T) {
	objs, err := addons.Policies(addons.Policy{Global: true, Exempt: []string{"kube-system", "ingress-nginx"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 {
		t.Fatalf("%d objects", len(objs))
	}
	g := objs[0]
	up := decode(t, upstream(t, globalDeny))[0]
	if g.GetKind() != up.GetKind() || g.GetAPIVersion() != "crd.projectcalico.org/v1" {
		t.Errorf("%s %s", g.GetAPIVersion(), g.GetKind())
	}
	types, _, _ := unstructuredSlice(g.Object, "spec", "types")
	upTypes, _, _ := unstructuredSlice(up.Object, "spec", "types")
	if !reflect.DeepEqual(types, upTypes) {
		t.Errorf("types %v, upstream %v", types, upTypes)
	}
	sel := g.Object["spec"].(map[string]any)["selector"].(string)
	if sel != "has(projectcalico.org/namespace) && projectcalico.org/namespace not in {'kube-system', 'ingress-nginx'}" {
		t.Errorf("selector %q", sel)
	}
}

func TestRemovedAPIsRefused(t *testing.T) {
	calico := decode(t, upstream(t, calicoV311))
	nginx := decode(t, upstream(t, nginx030))
	if errs := addons.CheckAPIs("calico.yaml", calico, release(t, "v1.21.14")); len(errs) != 0 {
		t.Fatalf("v3.11 on 1.21: %v", errs)
	}
	errs := addons.CheckAPIs("calico.yaml", calico, release(t, "v1.22.0"))
	var re *addons.RemovedAPIError
	if len(errs) != 1 || !errors.As(errs[0], &re) || re.APIVersion != "apiextensions.k8s.io/v1beta1" || len(re.Objects) != 14 {
		t.Fatalf("v3.11 on 1.22: %v", errs)
	}
	if !strings.Contains(errs[0].Error(), "CustomResourceDefinition felixconfigurations.crd.projectcalico.org and 13 more uses apiextensions.k8s.io/v1beta1, which Kubernetes removed in 1.22") {
		t.Errorf("message: %v", errs[0])
	}
	if errs := addons.CheckAPIs("mandatory.yaml", nginx, release(t, "v1.37.2")); len(errs) != 1 || !strings.Contains(errs[0].Error(), "rbac.authorization.k8s.io/v1beta1") {
		t.Errorf("ingress-nginx 0.30 on 1.37: %v", errs)
	}
	for _, m := range []judge.Module{calicoCurrent, nginxCurrent, metallbV0152} {
		if errs := addons.CheckAPIs(m.Path, decode(t, fromProxy(t, m)), release(t, "v1.37.2")); len(errs) != 0 {
			t.Errorf("%s on 1.37: %v", m.Path, errs)
		}
	}
}
