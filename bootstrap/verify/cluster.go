package verify

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/bootstrap/addons"
)

var (
	daemonSets      = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
	configMaps      = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	services        = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	networkPolicies = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}
	ipPools         = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "ippools"}
	globalPolicies  = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "globalnetworkpolicies"}
)

// Cluster checks, through the API server, every setting of e.
func Cluster(ctx context.Context, dyn dynamic.Interface, e Expected) []Check {
	get := func(gvr schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error) {
		if ns == "" {
			return dyn.Resource(gvr).Get(ctx, name, metav1.GetOptions{})
		}
		return dyn.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	}
	var checks []Check
	checks = append(checks, calicoNode(get, e)...)
	checks = append(checks, calicoPool(ctx, dyn, e))
	checks = append(checks, kubeProxy(get, e)...)
	if e.Ingress != nil {
		checks = append(checks, ingress(get, e)...)
	}
	checks = append(checks, policies(get, e)...)
	return checks
}

type getter func(gvr schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error)

func calicoNode(get getter, e Expected) []Check {
	ds, err := get(daemonSets, "kube-system", "calico-node")
	if err != nil {
		return []Check{fail("calico-node", "%v", err)}
	}
	env := map[string]string{}
	cs, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
	for _, c := range cs {
		m, _ := c.(map[string]any)
		if m["name"] != "calico-node" {
			continue
		}
		list, _ := m["env"].([]any)
		for _, v := range list {
			ev, _ := v.(map[string]any)
			name, _ := ev["name"].(string)
			val, _ := ev["value"].(string)
			env[name] = val
		}
	}
	ipip, vxlan := "Never", "Never"
	switch e.Calico.Encapsulation {
	case "ipip":
		ipip = "Always"
	case "vxlan":
		vxlan = "Always"
	}
	checks := []Check{
		expect("calico-node IP_AUTODETECTION_METHOD", env["IP_AUTODETECTION_METHOD"], e.Calico.Autodetect),
		expect("calico-node CALICO_IPV4POOL_IPIP", env["CALICO_IPV4POOL_IPIP"], ipip),
		expect("calico-node CALICO_IPV4POOL_VXLAN", env["CALICO_IPV4POOL_VXLAN"], vxlan),
		expect("calico-node CALICO_IPV4POOL_CIDR", env["CALICO_IPV4POOL_CIDR"], e.Calico.PoolCIDR),
	}
	cm, err := get(configMaps, "kube-system", "calico-config")
	if err != nil {
		return append(checks, fail("calico veth_mtu", "%v", err))
	}
	mtu, _, _ := unstructured.NestedString(cm.Object, "data", "veth_mtu")
	return append(checks, expect("calico veth_mtu (pod MTU)", mtu, strconv.Itoa(e.Calico.MTU)))
}

// calicoPool checks the IP pool calico-node created from its environment
// on first start: the pool, not the manifest, is what routes pods.
func calicoPool(ctx context.Context, dyn dynamic.Interface, e Expected) Check {
	const name = "calico IP pool"
	list, err := dyn.Resource(ipPools).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fail(name, "%v", err)
	}
	want := map[string]string{"none": "Never/Never", "ipip": "Always/Never", "vxlan": "Never/Always"}[e.Calico.Encapsulation]
	var seen []string
	for _, p := range list.Items {
		cidr, _, _ := unstructured.NestedString(p.Object, "spec", "cidr")
		ipip, _, _ := unstructured.NestedString(p.Object, "spec", "ipipMode")
		vx, _, _ := unstructured.NestedString(p.Object, "spec", "vxlanMode")
		got := fmt.Sprintf("%s/%s", orNever(ipip), orNever(vx))
		seen = append(seen, fmt.Sprintf("%s %s ipip/vxlan %s", p.GetName(), cidr, got))
		if cidr == e.Calico.PoolCIDR {
			if got != want {
				return fail(name, "%s %s: ipip/vxlan %s, want %s", p.GetName(), cidr, got, want)
			}
			return pass(name, "%s %s ipip/vxlan %s", p.GetName(), cidr, got)
		}
	}
	return fail(name, "no pool with cidr %s (found %v): calico-node creates it on first start", e.Calico.PoolCIDR, seen)
}

func orNever(s string) string {
	if s == "" {
		return "Never"
	}
	return s
}

func kubeProxy(get getter, e Expected) []Check {
	cm, err := get(configMaps, "kube-system", "kube-proxy")
	if err != nil {
		return []Check{fail("kube-proxy mode", "%v", err)}
	}
	raw, _, _ := unstructured.NestedString(cm.Object, "data", "config.conf")
	var cfg struct {
		Mode string `json:"mode"`
		IPVS struct {
			Scheduler string `json:"scheduler"`
			StrictARP bool   `json:"strictARP"`
		} `json:"ipvs"`
	}
	if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
		return []Check{fail("kube-proxy mode", "config.conf: %v", err)}
	}
	checks := []Check{expect("kube-proxy mode", cfg.Mode, e.ProxyMode)}
	if e.ProxyMode == "ipvs" {
		checks = append(checks,
			expect("kube-proxy ipvs scheduler", cfg.IPVS.Scheduler, e.Scheduler),
			expect("kube-proxy ipvs strictARP", strconv.FormatBool(cfg.IPVS.StrictARP), strconv.FormatBool(e.StrictARP)))
	}
	return checks
}

func ingress(get getter, e Expected) []Check {
	in := e.Ingress
	name := "ingress Service " + in.Namespace + "/" + in.Service
	svc, err := get(services, in.Namespace, in.Service)
	if err != nil {
		return []Check{fail(name, "%v", err)}
	}
	typ, _, _ := unstructured.NestedString(svc.Object, "spec", "type")
	etp, _, _ := unstructured.NestedString(svc.Object, "spec", "externalTrafficPolicy")
	checks := []Check{
		expect(name+" type", typ, "LoadBalancer"),
		expect(name+" externalTrafficPolicy", etp, in.TrafficPolicy),
	}
	if in.TrafficPolicy == "Local" {
		port, _, _ := unstructured.NestedInt64(svc.Object, "spec", "healthCheckNodePort")
		if port > 0 {
			checks = append(checks, pass(name+" health check", "healthCheckNodePort %d", port))
		} else {
			checks = append(checks, fail(name+" health check", "no healthCheckNodePort: the API server did not take policy Local"))
		}
	}
	if len(in.Addresses) > 0 {
		var got []string
		lbs, _, _ := unstructured.NestedSlice(svc.Object, "status", "loadBalancer", "ingress")
		for _, l := range lbs {
			m, _ := l.(map[string]any)
			if ip, ok := m["ip"].(string); ok {
				got = append(got, ip)
			}
		}
		slices.Sort(got)
		want := slices.Clone(in.Addresses)
		slices.Sort(want)
		c := expect(name+" addresses", strings.Join(got, ","), strings.Join(want, ","))
		if !c.OK && len(got) == 0 {
			c.Detail = fmt.Sprintf("no address assigned, want %s: is MetalLB's controller running (kubectl -n %s get pods)?", strings.Join(want, ","), addons.MetalLBNamespace)
		}
		checks = append(checks, c)
	}
	return checks
}

func policies(get getter, e Expected) []Check {
	var checks []Check
	for _, ns := range e.Policy.Namespaces {
		name := "default-deny in " + ns
		p, err := get(networkPolicies, ns, addons.DenyPolicy)
		if err != nil {
			checks = append(checks, fail(name, "%v", err))
			continue
		}
		types, _, _ := unstructured.NestedStringSlice(p.Object, "spec", "policyTypes")
		want := "Ingress"
		if e.Policy.DenyEgress {
			want = "Ingress,Egress"
		}
		checks = append(checks, expect(name, strings.Join(types, ","), want))
		if e.Policy.DenyEgress {
			if _, err := get(networkPolicies, ns, addons.AllowDNSPolicy); err != nil {
				checks = append(checks, fail("DNS allowed in "+ns, "%v", err))
			} else {
				checks = append(checks, pass("DNS allowed in "+ns, "%s", addons.AllowDNSPolicy))
			}
		}
	}
	if e.Policy.Global {
		g, err := get(globalPolicies, "", addons.DenyPolicy)
		if err != nil {
			checks = append(checks, fail("global default-deny", "%v", err))
		} else {
			sel, _, _ := unstructured.NestedString(g.Object, "spec", "selector")
			checks = append(checks, pass("global default-deny", "%s", sel))
		}
	}
	return checks
}

// firstServiceIP is the kubernetes Service's address: the first host of
// the service CIDR.
func firstServiceIP(cidr string) string {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return ""
	}
	return p.Masked().Addr().Next().String()
}
