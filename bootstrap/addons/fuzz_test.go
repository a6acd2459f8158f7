package addons_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/addons"
)

// CI runs the seeds (go test); fuzzing runs, one target at a time (a short
// minimize time keeps the big upstream seeds from stalling the workers):
//
//	go test ./bootstrap/addons/ -run '^$' -fuzz '^FuzzDecode$' -fuzztime 60s -fuzzminimizetime 10s
//	go test ./bootstrap/addons/ -run '^$' -fuzz '^FuzzPatch$' -fuzztime 60s -fuzzminimizetime 10s

// Small hand-made manifests: the shapes Decode and the patchers meet, and
// the edges between YAML, JSON and Kubernetes objects.
var handMade = []string{
	"",
	"---\n---\n",
	"# only a comment\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# empty\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
	"--- \napiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\r\nfoo: bar\n",
	`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"s","namespace":"n"}}]}`,
	`{"apiVersion":"v1","kind":"List","items":[]}`,
	"- a\n- b\n",
	"just a string\n",
	"apiVersion: v1\n",
	"kind: Pod\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {n: 1.5, big: 12345678901234567890, t: true, z: null}\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"a\\u0000b\"}\n",
	"&a apiVersion: v1\nkind: *a\n",
	// Enough of Calico's manifest for PatchCalico to do its work.
	`apiVersion: v1
kind: ConfigMap
metadata: {name: calico-config, namespace: kube-system}
data: {veth_mtu: "1440", calico_backend: bird}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: calico-node, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: calico-node}}
  template:
    metadata: {labels: {k8s-app: calico-node}}
    spec:
      initContainers:
      - {name: install-cni, image: calico/cni:v3.11.3}
      containers:
      - name: calico-node
        image: docker.io/calico/node:v3.11.3
        env:
        - {name: CALICO_IPV4POOL_IPIP, value: Always}
        - name: FELIX_IPINIPMTU
          valueFrom: {configMapKeyRef: {name: calico-config, key: veth_mtu}}
        livenessProbe: {exec: {command: [/bin/calico-node, -felix-live, -bird-live]}}
        readinessProbe: {exec: {command: [/bin/calico-node, -bird-ready, -felix-ready]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: calico-kube-controllers, namespace: kube-system}
spec:
  selector: {matchLabels: {k8s-app: calico-kube-controllers}}
  template:
    metadata: {labels: {k8s-app: calico-kube-controllers}}
    spec:
      containers:
      - {name: calico-kube-controllers, image: "localhost:5000/calico/kube-controllers:v3.11.3"}
`,
	// Enough of an ingress controller for PatchIngress to build its Service.
	`apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx-ingress-controller, namespace: ingress-nginx}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: ingress-nginx}}
  template:
    metadata: {labels: {app.kubernetes.io/name: ingress-nginx}}
    spec:
      containers:
      - name: controller
        image: quay.io/kubernetes-ingress-controller/nginx-ingress-controller:0.30.0
        ports: [{name: http, containerPort: 80}, {name: https, containerPort: 443}]
`,
	// And one whose Service exists already.
	`apiVersion: v1
kind: Service
metadata: {name: ingress-nginx, namespace: ingress-nginx, annotations: {a: b}}
spec:
  type: NodePort
  selector: {app: x}
  ports: [{name: http, port: 80, targetPort: http}]
`,
}

// seedManifests adds the upstream manifests kprov patches and the hand-made
// ones to f's corpus.
func seedManifests(f *testing.F) {
	for _, rel := range []string{calicoV311, nginx030, nginx030LB, denyIngress, denyAll, denyAllKYAML, globalDeny} {
		f.Add(upstream(f, rel).Data)
	}
	for _, s := range handMade {
		f.Add([]byte(s))
	}
}

// FuzzDecode: Decode never panics; a failure is a *DecodeError naming a
// document and a line of the input; every object decoded has apiVersion
// and kind, and encoding them then decoding again gives the same objects.
func FuzzDecode(f *testing.F) {
	seedManifests(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := addons.Decode("fuzz.yaml", data)
		if err != nil {
			checkDecodeError(t, err, data)
			return
		}
		checkObjects(t, objs)
		out, err := addons.Encode(objs)
		if err != nil {
			t.Fatalf("Encode of decoded objects: %v", err)
		}
		again, err := addons.Decode("again.yaml", out)
		if err != nil {
			t.Fatalf("decoding what Encode wrote: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(objects(objs), objects(again)) {
			t.Fatalf("encode/decode round trip changed the objects:\n%#v\n%#v\nencoded:\n%s", objects(objs), objects(again), out)
		}
	})
}

// Fixed settings the fuzzed manifests are patched with: the ones that take
// the most code paths (VXLAN, a registry rewrite, addresses).
var (
	fuzzCalico  = addons.Calico{Autodetect: "interface=eth0", Encapsulation: "vxlan", PoolCIDR: "192.168.0.0/16", MTU: 1450, Registry: "registry.lab:5000/calico/"}
	fuzzIngress = addons.Ingress{Namespace: "ingress-nginx", Service: "ingress-nginx", TrafficPolicy: "Local", Addresses: []string{"10.17.0.240", "10.17.0.241"}}
)

// FuzzPatch: on any manifest that decodes, PatchCalico and PatchIngress
// never panic, and either fail with a *MissingError or an error naming an
// object of the manifest, or leave objects that encode and decode again.
func FuzzPatch(f *testing.F) {
	seedManifests(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := addons.Decode("fuzz.yaml", data)
		if err != nil {
			return
		}
		if err := addons.PatchCalico("fuzz.yaml", objs, fuzzCalico); err != nil {
			checkPatchError(t, "PatchCalico", err, objs)
		} else {
			checkEncodes(t, "PatchCalico", objs)
		}

		objs, err = addons.Decode("fuzz.yaml", data)
		if err != nil {
			t.Fatalf("second decode of the same data failed: %v", err)
		}
		out, warnings, err := addons.PatchIngress("fuzz.yaml", objs, fuzzIngress)
		if err != nil {
			// A Service PatchIngress built is not in objs; its name is
			// the one the settings ask for.
			checkPatchError(t, "PatchIngress", err, objs, "Service "+fuzzIngress.Namespace+"/"+fuzzIngress.Service)
			return
		}
		checkEncodes(t, "PatchIngress", out)
		// The Service patched is the one asked for, or the one a warning
		// names ("kprov patches Service NS/NAME instead").
		want := fuzzIngress.Service
		if len(warnings) > 0 {
			_, rest, _ := strings.Cut(warnings[0], "kprov patches Service "+fuzzIngress.Namespace+"/")
			want, _, _ = strings.Cut(rest, " instead")
		}
		var svc addons.Object
		for _, o := range out {
			if o.GetKind() == "Service" && o.GetNamespace() == fuzzIngress.Namespace && o.GetName() == want {
				svc = o
				break
			}
		}
		if svc == nil {
			t.Fatalf("PatchIngress succeeded but left no Service %s/%s (warnings %q)", fuzzIngress.Namespace, want, warnings)
		}
		if typ, _, _ := unstructuredString(svc.Object, "spec", "type"); typ != "LoadBalancer" {
			t.Errorf("PatchIngress left Service type %q", typ)
		}
		if ips := svc.GetAnnotations()[addons.AnnotationIPs]; ips != strings.Join(fuzzIngress.Addresses, ",") {
			t.Errorf("PatchIngress left %s = %q", addons.AnnotationIPs, ips)
		}
	})
}

func checkDecodeError(t *testing.T, err error, data []byte) {
	t.Helper()
	var de *addons.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("Decode failed with %T, not a *DecodeError: %v", err, err)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	if de.Document < 1 || de.Line < 1 || de.Line > lines+1 || de.Source != "fuzz.yaml" || de.Err == nil {
		t.Fatalf("DecodeError names document %d, line %d of a %d-line input (source %q): %v", de.Document, de.Line, lines, de.Source, err)
	}
	if !strings.HasPrefix(err.Error(), "fuzz.yaml:") {
		t.Errorf("error does not start with the source: %v", err)
	}
}

func checkObjects(t *testing.T, objs []addons.Object) {
	t.Helper()
	for i, o := range objs {
		if o == nil || o.Object == nil {
			t.Fatalf("object %d is nil", i)
		}
		if o.GetAPIVersion() == "" || o.GetKind() == "" {
			t.Fatalf("object %d has apiVersion %q, kind %q: %v", i, o.GetAPIVersion(), o.GetKind(), o.Object)
		}
	}
}

// checkPatchError accepts a *MissingError or an error that names an object
// (Ref: "Kind namespace/name") of objs or one of extra.
func checkPatchError(t *testing.T, what string, err error, objs []addons.Object, extra ...string) {
	t.Helper()
	var me *addons.MissingError
	if errors.As(err, &me) {
		if me.Manifest != "fuzz.yaml" || me.What == "" {
			t.Errorf("%s: MissingError without the manifest or what is missing: %#v", what, me)
		}
		return
	}
	msg := err.Error()
	refs := extra
	for _, o := range objs {
		refs = append(refs, addons.Ref(o))
	}
	for _, r := range refs {
		if strings.HasPrefix(msg, r+": ") {
			return
		}
	}
	t.Errorf("%s failed with an error naming no object: %v", what, err)
}

// checkEncodes encodes objs and decodes them again: the same objects, each
// with apiVersion and kind.
func checkEncodes(t *testing.T, what string, objs []addons.Object) {
	t.Helper()
	out, err := addons.Encode(objs)
	if err != nil {
		t.Fatalf("%s: objects do not encode: %v", what, err)
	}
	again, err := addons.Decode("patched.yaml", out)
	if err != nil {
		t.Fatalf("%s: encoded objects do not decode: %v\n%s", what, err, out)
	}
	checkObjects(t, again)
	if !reflect.DeepEqual(objects(objs), objects(again)) {
		t.Fatalf("%s: encode/decode round trip changed the patched objects:\n%s", what, out)
	}
}

func unstructuredString(m map[string]any, path ...string) (string, bool, error) {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = mm[p]
	}
	s, ok := cur.(string)
	return s, ok, nil
}
