// Package addons turns the upstream manifests a spec names (Calico, an
// ingress controller, MetalLB) and kprov's own objects (default-deny
// policies) into the exact objects kprov applies: manifests in, objects
// out, with no I/O. bootstrap/addonsrun reads the manifests (Fetch) and
// talks to the API server.
package addons

import (
	"bytes"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Object is one Kubernetes object as decoded from a manifest.
type Object = *unstructured.Unstructured

// DecodeError names the document of a manifest that did not decode.
type DecodeError struct {
	Source   string // file or URL
	Document int    // 1-based, counting empty documents too
	Line     int    // line where the document starts
	Err      error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("%s:%d: document %d: %v", e.Source, e.Line, e.Document, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Decode reads every YAML (or JSON) document of a manifest. Empty documents
// (upstream Helm output has them) are skipped; a document that is not a
// Kubernetes object is an error naming it. A List is flattened.
func Decode(source string, data []byte) ([]Object, error) {
	var objs []Object
	for i, d := range split(data) {
		fail := func(err error) error {
			return &DecodeError{Source: source, Document: i + 1, Line: d.line, Err: err}
		}
		j, err := yaml.YAMLToJSON(d.body)
		if err != nil {
			return nil, fail(err)
		}
		if t := string(bytes.TrimSpace(j)); t == "null" || t == "{}" {
			continue
		}
		if bytes.TrimSpace(j)[0] != '{' {
			return nil, fail(errors.New("not a Kubernetes object: a mapping with apiVersion and kind is required"))
		}
		// The unstructured scheme keeps integers int64, as the API
		// machinery expects.
		obj, err := runtime.Decode(unstructured.UnstructuredJSONScheme, j)
		if err != nil {
			return nil, fail(fmt.Errorf("not a Kubernetes object: %w", err))
		}
		var items []Object
		switch v := obj.(type) {
		case *unstructured.Unstructured:
			items = append(items, v)
		case *unstructured.UnstructuredList:
			for j := range v.Items {
				items = append(items, &v.Items[j])
			}
		}
		// The scheme wants a kind but takes an object without apiVersion.
		for _, o := range items {
			if o.GetAPIVersion() == "" || o.GetKind() == "" {
				return nil, fail(fmt.Errorf("not a Kubernetes object: apiVersion %q, kind %q: both are required", o.GetAPIVersion(), o.GetKind()))
			}
		}
		objs = append(objs, items...)
	}
	return objs, nil
}

type document struct {
	line int // 1-based line of the document's first line
	body []byte
}

// split cuts a YAML stream at its "---" lines, keeping where each document
// starts so that errors point at the right line.
func split(data []byte) []document {
	docs := []document{{line: 1}}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for n, l := range lines {
		t := bytes.TrimRight(l, " \t\r\n")
		if bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			docs = append(docs, document{line: n + 2})
			continue
		}
		last := &docs[len(docs)-1]
		last.body = append(last.body, l...)
	}
	return docs
}

// Encode writes objects as one YAML stream, keys sorted: the same objects
// give the same bytes.
func Encode(objs []Object) ([]byte, error) {
	var b bytes.Buffer
	for i, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", Ref(o), err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

// Ref names an object the way kubectl does: kind/namespace/name.
func Ref(o Object) string {
	if ns := o.GetNamespace(); ns != "" {
		return o.GetKind() + " " + ns + "/" + o.GetName()
	}
	return o.GetKind() + " " + o.GetName()
}

// find returns the first object of kind with name (and namespace when not
// empty).
func find(objs []Object, kind, namespace, name string) Object {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name && (namespace == "" || o.GetNamespace() == namespace) {
			return o
		}
	}
	return nil
}
