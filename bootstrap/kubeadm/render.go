package kubeadm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"
	"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/scheme"
	"k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm/v1beta4"
	"sigs.k8s.io/yaml"
)

// document is one YAML document: apiVersion and kind, then only the fields
// kprov set (those that differ from the Go zero value of the versioned
// type), keys sorted. Old kubeadm releases reject or warn about fields they
// do not know, so nothing else is written.
type document struct {
	apiVersion, kind string
	fields           map[string]any
}

// versioned converts an internal kubeadm object to the group version gv
// with the upstream scheme and keeps what kprov set.
func versioned(obj runtime.Object, gv schema.GroupVersion) (document, error) {
	out, err := scheme.Scheme.ConvertToVersion(obj, gv)
	if err != nil {
		return document{}, fmt.Errorf("convert to %s: %w", gv, err)
	}
	// Upstream conversion copies in a process-wide timeout that decoding
	// any v1beta3 file leaves behind: only the control-plane timeout kprov
	// sets (timeouts.control_plane) is kept.
	switch o := out.(type) {
	case *v1beta4.InitConfiguration:
		o.Timeouts = controlPlaneTimeout(obj.(*kubeadmapi.InitConfiguration).Timeouts)
	case *v1beta4.JoinConfiguration:
		o.Timeouts = controlPlaneTimeout(obj.(*kubeadmapi.JoinConfiguration).Timeouts)
	}
	return typed(out)
}

// typed keeps the fields of a versioned object that differ from zero.
func typed(obj runtime.Object) (document, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" {
		return document{}, fmt.Errorf("%T has no kind", obj)
	}
	got, err := toMap(obj)
	if err != nil {
		return document{}, err
	}
	zero, err := toMap(reflect.New(reflect.TypeOf(obj).Elem()).Interface())
	if err != nil {
		return document{}, err
	}
	delete(got, "apiVersion")
	delete(got, "kind")
	fields, _ := prune(got, zero)
	m, _ := fields.(map[string]any)
	return document{apiVersion: gvk.GroupVersion().String(), kind: gvk.Kind, fields: m}, nil
}

func toMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return m, nil
}

// prune drops from got what equals zero, recursively through objects. An
// explicitly empty list (taints: []) differs from null and is kept. Inside
// a field the zero value omits (a nil pointer), only nulls and empty
// objects are dropped.
func prune(got, zero any) (any, bool) {
	g, gok := got.(map[string]any)
	z, zok := zero.(map[string]any)
	if !gok || !zok {
		return got, got != nil && !reflect.DeepEqual(got, zero)
	}
	out := map[string]any{}
	for k, v := range g {
		zv, ok := z[k]
		if !ok {
			zv = map[string]any{}
			if _, isMap := v.(map[string]any); !isMap {
				zv = nil
			}
		}
		if p, keep := prune(v, zv); keep {
			out[k] = p
		}
	}
	return out, len(out) > 0
}

// field is the value at a dotted path of d, if any.
func (d document) field(path string) (any, bool) {
	var cur any = d.fields
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// encode writes documents as one multi-document YAML stream.
func encode(docs ...document) ([]byte, error) {
	var buf bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		fmt.Fprintf(&buf, "apiVersion: %s\nkind: %s\n", d.apiVersion, d.kind)
		if len(d.fields) == 0 {
			continue
		}
		b, err := yaml.Marshal(d.fields)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.kind, err)
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}

// toV1beta2 turns v1beta3 kubeadm documents into v1beta2 ones. v1beta2 is
// gone from this Kubernetes module, and the two differ little: v1beta3
// dropped dns.type and useHyperKubeImage (kprov sets neither) and added
// skipPhases, patches and nodeRegistration.imagePullPolicy, which kprov
// refuses here rather than have kubeadm 1.21 drop them.
func toV1beta2(docs []document) ([]document, error) {
	v1beta3Only := []string{"skipPhases", "patches", "nodeRegistration.imagePullPolicy"}
	out := make([]document, len(docs))
	for i, d := range docs {
		if d.apiVersion == V1beta3 {
			for _, f := range v1beta3Only {
				if _, ok := d.field(f); ok {
					return nil, fmt.Errorf("%s: %s is not in %s", d.kind, f, V1beta2)
				}
			}
			d.apiVersion = V1beta2
		}
		out[i] = d
	}
	return out, nil
}

// controlPlaneTimeout is the v1beta4 Timeouts holding t's control-plane
// health check alone, or nil.
func controlPlaneTimeout(t *kubeadmapi.Timeouts) *v1beta4.Timeouts {
	if t == nil || t.ControlPlaneComponentHealthCheck == nil {
		return nil
	}
	return &v1beta4.Timeouts{ControlPlaneComponentHealthCheck: t.ControlPlaneComponentHealthCheck}
}

// setV1beta3ControlPlaneTimeout writes timeouts.control_plane where v1beta3
// (and v1beta2) keep it, ClusterConfiguration's apiServer, which kubeadm's
// internal types no longer have; nothing when unset or on v1beta4.
func setV1beta3ControlPlaneTimeout(docs []document, d time.Duration) {
	for _, doc := range docs {
		if d == 0 || doc.kind != "ClusterConfiguration" || doc.apiVersion == V1beta4 {
			continue
		}
		api, _ := doc.fields["apiServer"].(map[string]any)
		if api == nil {
			api = map[string]any{}
			doc.fields["apiServer"] = api
		}
		api["timeoutForControlPlane"] = d.String()
	}
}
