package images

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kprov/kprov/bootstrap/addons"
)

// podSpecPath is where each workload kind holds its pod spec.
var podSpecPath = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// Addons is every image of every init container and container of the
// workloads in steps, in object and container order, each reference once
// per phase; Source is the `kprov up` phase that applies the step
// (addons/calico).
func Addons(steps []addons.Step) []Image {
	var out []Image
	for _, s := range steps {
		source := Phase(s.Name)
		seen := map[string]bool{}
		for _, o := range s.Objects {
			for _, ref := range objectImages(o) {
				if !seen[ref] {
					seen[ref] = true
					out = append(out, Image{Ref: ref, Source: source})
				}
			}
		}
	}
	return out
}

// Phase is the `kprov up` phase applying the addon step named step: the
// load balancer's pool is applied by addons/load-balancer.
func Phase(step string) string {
	if step == addons.StepPool {
		return "addons/" + addons.StepLoadBalancer
	}
	return "addons/" + step
}

// objectImages are the images of o's init containers, then containers;
// nil for an object that runs no pod.
func objectImages(o addons.Object) []string {
	if o == nil {
		return nil
	}
	path, ok := podSpecPath[o.GetKind()]
	if !ok {
		return nil
	}
	pod, found, err := unstructured.NestedMap(o.Object, path...)
	if !found || err != nil {
		return nil
	}
	var refs []string
	for _, field := range []string{"initContainers", "containers"} {
		list, _, _ := unstructured.NestedSlice(pod, field)
		for _, c := range list {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			if ref, ok := m["image"].(string); ok && ref != "" {
				refs = append(refs, ref)
			}
		}
	}
	return refs
}
