package addons

import (
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// MetalLBNamespace is where MetalLB's manifest installs it.
const MetalLBNamespace = "metallb-system"

// MetalLBPool is the address pool and the layer-2 announcement for the
// ingress addresses. autoAssign is off: only the Service that asks for the
// pool (PatchIngress annotates it) gets these addresses.
func MetalLBPool(addresses []string) []Object {
	var cidrs []any
	for _, a := range addresses {
		if ip, err := netip.ParseAddr(a); err == nil {
			cidrs = append(cidrs, netip.PrefixFrom(ip, ip.BitLen()).String())
		}
	}
	meta := map[string]any{"name": PoolName, "namespace": MetalLBNamespace}
	return []Object{
		{Object: map[string]any{
			"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": meta,
			"spec": map[string]any{"addresses": cidrs, "autoAssign": false},
		}},
		{Object: map[string]any{
			"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": copyMap(meta),
			"spec": map[string]any{"ipAddressPools": []any{PoolName}},
		}},
	}
}

func copyMap(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// Policy is what kprov's default-deny policies cover.
type Policy struct {
	// Namespaces each get a default-deny NetworkPolicy (created if
	// missing).
	Namespaces []string
	// DenyEgress denies egress too, DNS to kube-dns excepted.
	DenyEgress bool
	// Global adds a Calico GlobalNetworkPolicy denying all traffic of
	// every namespace but Exempt.
	Global bool
	Exempt []string
}

// Names of kprov's policies.
const (
	DenyPolicy     = "kprov-default-deny"
	AllowDNSPolicy = "kprov-allow-dns"
)

// Policies builds the namespaces and policies of p.
func Policies(p Policy) ([]Object, error) {
	var out []any
	for _, ns := range p.Namespaces {
		out = append(out, &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: ns},
		})
		types := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if p.DenyEgress {
			types = append(types, networkingv1.PolicyTypeEgress)
		}
		out = append(out, &networkingv1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
			ObjectMeta: metav1.ObjectMeta{Name: DenyPolicy, Namespace: ns},
			Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{}, PolicyTypes: types},
		})
		if p.DenyEgress {
			out = append(out, allowDNS(ns))
		}
	}
	objs, err := toObjects(out)
	if err != nil {
		return nil, err
	}
	if p.Global {
		objs = append(objs, globalDeny(p.Exempt))
	}
	return objs, nil
}

func allowDNS(ns string) *networkingv1.NetworkPolicy {
	udp, tcp := corev1.ProtocolUDP, corev1.ProtocolTCP
	dns := intstr.FromInt32(53)
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: AllowDNSPolicy, Namespace: ns},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}, {Protocol: &tcp, Port: &dns}},
			}},
		},
	}
}

// globalDeny is Calico's documented default deny (selector all(), Ingress
// and Egress) narrowed to the namespaces not exempt, with DNS allowed. Its
// order puts it after any policy that allows traffic.
func globalDeny(exempt []string) Object {
	// Workload endpoints only: host endpoints have no namespace.
	sel := "has(projectcalico.org/namespace) && projectcalico.org/namespace not in {" + quoteList(exempt) + "}"
	dnsRule := func(proto string) any {
		return map[string]any{
			"action": "Allow", "protocol": proto,
			"destination": map[string]any{
				"selector":          "k8s-app == 'kube-dns'",
				"namespaceSelector": "projectcalico.org/name == 'kube-system'",
				"ports":             []any{int64(53)},
			},
		}
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "crd.projectcalico.org/v1", "kind": "GlobalNetworkPolicy",
		"metadata": map[string]any{"name": DenyPolicy},
		"spec": map[string]any{
			"order":    int64(2000),
			"selector": sel,
			"types":    []any{"Ingress", "Egress"},
			"egress":   []any{dnsRule("UDP"), dnsRule("TCP")},
		},
	}}
}

func quoteList(ss []string) string {
	s := ""
	for i, v := range ss {
		if i > 0 {
			s += ", "
		}
		s += "'" + v + "'"
	}
	return s
}

func toObjects(typed []any) ([]Object, error) {
	var objs []Object
	for _, t := range typed {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(t)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		if spec, ok := u.Object["spec"].(map[string]any); ok && len(spec) == 0 {
			delete(u.Object, "spec")
		}
		objs = append(objs, u)
	}
	return objs, nil
}
