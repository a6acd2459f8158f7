package addons

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// edit changes o through its typed form T (appsv1.DaemonSet, corev1.Service
// ...) and writes back only what fn changed: the difference between the
// typed object before and after fn, as a strategic merge patch (lists such
// as env merge by name), is applied to the object as decoded. Every field
// fn did not touch keeps its original form; nothing of the typed round trip
// (creationTimestamp: null, empty status) leaks into the manifest.
func edit[T any](o Object, fn func(*T) error) error {
	var before T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &before); err != nil {
		return fmt.Errorf("%s: %w", Ref(o), err)
	}
	var after T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &after); err != nil {
		return fmt.Errorf("%s: %w", Ref(o), err)
	}
	if err := fn(&after); err != nil {
		return fmt.Errorf("%s: %w", Ref(o), err)
	}
	b, err := json.Marshal(&before)
	if err != nil {
		return err
	}
	a, err := json.Marshal(&after)
	if err != nil {
		return err
	}
	var schema T
	patch, err := strategicpatch.CreateTwoWayMergePatch(b, a, schema)
	if err != nil {
		return fmt.Errorf("%s: %w", Ref(o), err)
	}
	orig, err := json.Marshal(o.Object)
	if err != nil {
		return err
	}
	out, err := strategicpatch.StrategicMergePatch(orig, patch, schema)
	if err != nil {
		return fmt.Errorf("%s: %w", Ref(o), err)
	}
	var u unstructured.Unstructured
	if err := u.UnmarshalJSON(out); err != nil {
		return fmt.Errorf("%s: %w", Ref(o), err)
	}
	o.Object = u.Object
	return nil
}
