package addons_test

import (
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kprov/kprov/bootstrap/addons"
)

func itoa(n int) string { return strconv.Itoa(n) }

func objects(objs []addons.Object) []map[string]any {
	var out []map[string]any
	for _, o := range objs {
		out = append(out, o.Object)
	}
	return out
}

func daemonSet(t testing.TB, o addons.Object) *appsv1.DaemonSet {
	t.Helper()
	var d appsv1.DaemonSet
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

func envMap(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
			m[e.Name] = "configMapKeyRef " + e.ValueFrom.ConfigMapKeyRef.Name + " " + e.ValueFrom.ConfigMapKeyRef.Key
		case e.ValueFrom != nil:
			m[e.Name] = "valueFrom"
		default:
			m[e.Name] = e.Value
		}
	}
	return m
}

func envOf(t testing.TB, o addons.Object, name string) map[string]string {
	t.Helper()
	for _, c := range daemonSet(t, o).Spec.Template.Spec.Containers {
		if c.Name == name {
			return envMap(c)
		}
	}
	t.Fatalf("%s has no container %s", addons.Ref(o), name)
	return nil
}

func envOfInit(t testing.TB, o addons.Object, name string) map[string]string {
	t.Helper()
	for _, c := range daemonSet(t, o).Spec.Template.Spec.InitContainers {
		if c.Name == name {
			return envMap(c)
		}
	}
	t.Fatalf("%s has no init container %s", addons.Ref(o), name)
	return nil
}

func probeArgs(o addons.Object) string {
	var d appsv1.DaemonSet
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d)
	var s []string
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
			if p != nil && p.Exec != nil {
				s = append(s, strings.Join(p.Exec.Command, " "))
			}
		}
	}
	return strings.Join(s, "; ")
}

// stripPodSpec removes what kprov may change in calico-node: the main
// container's env and probes.
func stripPodSpec(o addons.Object) {
	cs, _, _ := unstructuredSlice(o.Object, "spec", "template", "spec", "containers")
	for _, c := range cs {
		m := c.(map[string]any)
		if m["name"] == "calico-node" {
			delete(m, "env")
			delete(m, "livenessProbe")
			delete(m, "readinessProbe")
		}
	}
}

func unstructuredSlice(m map[string]any, path ...string) ([]any, bool, error) {
	var cur any = m
	for _, p := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil, false, nil
		}
		cur = mm[p]
	}
	s, ok := cur.([]any)
	return s, ok, nil
}

// images lists every container image of the workloads.
func images(t testing.TB, objs []addons.Object) []string {
	var out []string
	for _, o := range objs {
		var spec corev1.PodSpec
		switch o.GetKind() {
		case "DaemonSet":
			spec = daemonSet(t, o).Spec.Template.Spec
		case "Deployment":
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
				t.Fatal(err)
			}
			spec = d.Spec.Template.Spec
		default:
			continue
		}
		for _, c := range append(spec.InitContainers, spec.Containers...) {
			out = append(out, c.Image)
		}
	}
	return out
}
