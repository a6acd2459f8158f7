package addonsrun

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kprov/kprov/bootstrap/addons"
)

const rolloutHint = "Look at its pods (kubectl -n NAMESPACE get pods, or kprov ssh FILE NODE -- crictl ps -a on a node): images that cannot be pulled are the usual cause on an offline network; calico.image_registry points Calico at a mirror."

// rollouts waits for every DaemonSet and Deployment among objs: the
// controller saw the latest generation, every pod is updated and available.
func (c *Client) rollouts(ctx context.Context, step string, objs []addons.Object) error {
	for _, o := range objs {
		kind := o.GetKind()
		if kind != "DaemonSet" && kind != "Deployment" {
			continue
		}
		r, err := c.resource(o)
		if err != nil {
			return &ObjectError{Step: step, Object: addons.Ref(o), Err: err}
		}
		polls, why := 0, ""
		err = c.poll(ctx, step, addons.Ref(o), rolloutHint, func(ctx context.Context) (bool, string, error) {
			got, err := r.Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, "", err
			}
			done, status := RolledOut(got)
			// Why its pods are not ready, looked up now and then, ends
			// up in the timeout's message.
			if polls++; !done && polls%10 == 1 {
				why = c.podReasons(ctx, got)
			}
			if !done && why != "" {
				status += "; " + why
			}
			return done, status, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// RolledOut says whether a DaemonSet or Deployment has rolled out, the way
// kubectl rollout status does, and how far it got.
func RolledOut(o *unstructured.Unstructured) (bool, string) {
	num := func(path ...string) int64 {
		v, _, _ := unstructured.NestedInt64(o.Object, path...)
		return v
	}
	observed := num("status", "observedGeneration")
	if observed < o.GetGeneration() {
		return false, fmt.Sprintf("generation %d not yet seen by its controller (observed %d)", o.GetGeneration(), observed)
	}
	if o.GetKind() == "DaemonSet" {
		want, updated, avail := num("status", "desiredNumberScheduled"), num("status", "updatedNumberScheduled"), num("status", "numberAvailable")
		return updated == want && avail == want, fmt.Sprintf("%d of %d pods updated, %d available", updated, want, avail)
	}
	want, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
	if !found {
		want = 1
	}
	updated, avail := num("status", "updatedReplicas"), num("status", "availableReplicas")
	return updated == want && avail == want, fmt.Sprintf("%d of %d replicas updated, %d available", updated, want, avail)
}
