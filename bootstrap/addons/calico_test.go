package addons_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kprov/kprov/bootstrap/addons"
)

func TestDecodeUpstreamCalico(t *testing.T) {
	m := upstream(t, calicoV311)
	objs := decode(t, m)
	// SOURCES.md: 26 separators, 23 non-empty documents.
	if len(objs) != 23 {
		t.Fatalf("decoded %d objects, want 23", len(objs))
	}
	if n := strings.Count("\n"+string(m.Data), "\n---"); n != 26 {
		t.Fatalf("%d separators, want 26: not the upstream file?", n)
	}
	// Encoding and decoding again gives the same objects.
	out, err := addons.Encode(objs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := addons.Decode("again", out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(objects(objs), objects(again)) {
		t.Fatal("encode/decode round trip changed the objects")
	}
}

func TestDecodeErrorsNameTheDocument(t *testing.T) {
	src := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# empty\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: [\n"
	_, err := addons.Decode("x.yaml", []byte(src))
	var de *addons.DecodeError
	if !errors.As(err, &de) || de.Document != 3 || de.Line != 7 {
		t.Fatalf("got %v, want a DecodeError for document 3 at line 7", err)
	}
	_, err = addons.Decode("y.yaml", []byte("---\nfoo: bar\n"))
	if !errors.As(err, &de) || de.Document != 2 || !strings.Contains(err.Error(), "y.yaml:2: document 2: not a Kubernetes object") {
		t.Fatalf("got %v, want document 2 is not a Kubernetes object", err)
	}
}

// settings is what each case asks for and what calico-node must then read.
type calicoCase struct {
	name string
	set  addons.Calico
	env  map[string]string // calico-node env after patching (literal values)
}

func calicoCases() []calicoCase {
	base := addons.Calico{Autodetect: "interface=eth0", PoolCIDR: "10.244.0.0/16"}
	none, ipip, vxlan := base, base, base
	none.Encapsulation, none.MTU = "none", 1500
	ipip.Encapsulation, ipip.MTU = "ipip", 1480
	vxlan.Encapsulation, vxlan.MTU = "vxlan", 1450
	env := func(ipip, vx string) map[string]string {
		return map[string]string{"IP_AUTODETECTION_METHOD": "interface=eth0", "CALICO_IPV4POOL_IPIP": ipip, "CALICO_IPV4POOL_VXLAN": vx, "CALICO_IPV4POOL_CIDR": "10.244.0.0/16"}
	}
	return []calicoCase{
		{"bgp", none, env("Never", "Never")},
		{"ipip", ipip, env("Always", "Never")},
		{"vxlan", vxlan, env("Never", "Always")},
	}
}

func TestPatchCalicoUpstream(t *testing.T) {
	for label, m := range map[string]addons.Manifest{"v3.11": upstream(t, calicoV311), "current": fromProxy(t, calicoCurrent)} {
		for _, tc := range calicoCases() {
			t.Run(label+"/"+tc.name, func(t *testing.T) {
				orig := decode(t, m)
				got := decode(t, m)
				if err := addons.PatchCalico(m.Source, got, tc.set); err != nil {
					t.Fatal(err)
				}
				checkCalico(t, orig, got, tc)
			})
		}
	}
}

// checkCalico compares object by object: only calico-node's environment
// (and probes for vxlan) and calico-config's data may change, and they
// hold exactly what was asked.
func checkCalico(t *testing.T, orig, got []addons.Object, tc calicoCase) {
	t.Helper()
	if len(orig) != len(got) {
		t.Fatalf("%d objects, want %d", len(got), len(orig))
	}
	for i := range orig {
		o, g := orig[i].DeepCopy(), got[i].DeepCopy()
		switch addons.Ref(o) {
		case "DaemonSet kube-system/calico-node":
			env := envOf(t, g, "calico-node")
			want := envOf(t, o, "calico-node")
			for k, v := range tc.env {
				want[k] = v
			}
			if tc.set.Encapsulation == "vxlan" {
				if _, ok := want["FELIX_VXLANMTU"]; !ok {
					want["FELIX_VXLANMTU"] = "configMapKeyRef calico-config veth_mtu"
				}
			}
			if !reflect.DeepEqual(env, want) {
				t.Errorf("calico-node env:\n got %v\nwant %v", env, want)
			}
			// The MTU reaches calico-node and the CNI config through
			// calico-config's veth_mtu.
			if ref := envOf(t, g, "calico-node")["FELIX_IPINIPMTU"]; ref != "configMapKeyRef calico-config veth_mtu" {
				t.Errorf("FELIX_IPINIPMTU = %q, want it from calico-config veth_mtu", ref)
			}
			if ref := envOfInit(t, g, "install-cni")["CNI_MTU"]; ref != "configMapKeyRef calico-config veth_mtu" {
				t.Errorf("install-cni CNI_MTU = %q, want it from calico-config veth_mtu", ref)
			}
			probes := probeArgs(g)
			if tc.set.Encapsulation == "vxlan" && strings.Contains(probes, "bird") {
				t.Errorf("vxlan keeps BIRD probes: %s", probes)
			}
			if tc.set.Encapsulation != "vxlan" && probes != probeArgs(o) {
				t.Errorf("probes changed: %s", probes)
			}
			stripPodSpec(o)
			stripPodSpec(g)
		case "ConfigMap kube-system/calico-config":
			data, _, _ := unstructured.NestedStringMap(g.Object, "data")
			if data["veth_mtu"] != itoa(tc.set.MTU) {
				t.Errorf("veth_mtu = %q, want %d", data["veth_mtu"], tc.set.MTU)
			}
			if backend := data["calico_backend"]; (tc.set.Encapsulation == "vxlan") != (backend == "vxlan") {
				t.Errorf("calico_backend = %q with encapsulation %s", backend, tc.set.Encapsulation)
			}
			unstructured.RemoveNestedField(o.Object, "data", "veth_mtu")
			unstructured.RemoveNestedField(g.Object, "data", "veth_mtu")
			unstructured.RemoveNestedField(o.Object, "data", "calico_backend")
			unstructured.RemoveNestedField(g.Object, "data", "calico_backend")
		}
		if !reflect.DeepEqual(o.Object, g.Object) {
			t.Errorf("%s changed beyond what kprov sets", addons.Ref(o))
		}
	}
}

func TestCalicoRegistryRewrite(t *testing.T) {
	for _, m := range []addons.Manifest{upstream(t, calicoV311), fromProxy(t, calicoCurrent)} {
		objs := decode(t, m)
		set := calicoCases()[0].set
		set.Registry = "registry.lab:5000/mirror/"
		if err := addons.PatchCalico(m.Source, objs, set); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, img := range images(t, objs) {
			n++
			if !strings.HasPrefix(img, "registry.lab:5000/mirror/calico/") {
				t.Errorf("%s: image %s not rewritten", m.Source, img)
			}
		}
		if n < 4 {
			t.Errorf("%s: only %d images seen", m.Source, n)
		}
	}
}

func TestPatchCalicoRefusesOtherManifests(t *testing.T) {
	objs := decode(t, upstream(t, nginx030))
	err := addons.PatchCalico("nginx.yaml", objs, calicoCases()[0].set)
	var me *addons.MissingError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "nginx.yaml has no DaemonSet calico-node") {
		t.Fatalf("got %v", err)
	}
}

// A manifest that names a variable twice (edited by hand): the container
// would get the last entry, so one entry is left, holding kprov's value.
func TestPatchCalicoDuplicateEnv(t *testing.T) {
	m := fromProxy(t, calicoCurrent)
	objs := decode(t, m)
	for _, o := range objs {
		if addons.Ref(o) != "DaemonSet kube-system/calico-node" {
			continue
		}
		cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for i, c := range cs {
			cm := c.(map[string]any)
			if cm["name"] != "calico-node" {
				continue
			}
			env := cm["env"].([]any)
			env = append(env,
				map[string]any{"name": "IP_AUTODETECTION_METHOD", "value": "first-found"},
				map[string]any{"name": "CALICO_IPV4POOL_IPIP", "valueFrom": map[string]any{"configMapKeyRef": map[string]any{"name": "calico-config", "key": "ipip"}}})
			cm["env"] = env
			cs[i] = cm
		}
		if err := unstructured.SetNestedSlice(o.Object, cs, "spec", "template", "spec", "containers"); err != nil {
			t.Fatal(err)
		}
	}
	set := calicoCases()[0].set
	if err := addons.PatchCalico(m.Source, objs, set); err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if addons.Ref(o) != "DaemonSet kube-system/calico-node" {
			continue
		}
		seen := map[string]int{}
		for _, c := range daemonSet(t, o).Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				switch e.Name {
				case "IP_AUTODETECTION_METHOD", "CALICO_IPV4POOL_IPIP":
					seen[e.Name]++
					want := set.Autodetect
					if e.Name == "CALICO_IPV4POOL_IPIP" {
						want = "Never"
					}
					if e.Value != want || e.ValueFrom != nil {
						t.Errorf("entry %d of %s: %q %v, want %q", seen[e.Name], e.Name, e.Value, e.ValueFrom, want)
					}
				}
			}
		}
		if seen["IP_AUTODETECTION_METHOD"] != 1 || seen["CALICO_IPV4POOL_IPIP"] != 1 {
			t.Errorf("entries seen %v, want one of each", seen)
		}
	}
}
