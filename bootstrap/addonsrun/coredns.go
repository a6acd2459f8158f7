package addonsrun

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/kprov/kprov/bootstrap/addons"
)

var (
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// LocalDNS makes kubeadm's CoreDNS answer the cluster's own names without
// forwarding elsewhere (addons.LocalCorefile), for nodes that have no DNS
// server, and restarts CoreDNS's pods so they read it at once. It changes
// nothing when the Corefile has no such forward.
func (c *Client) LocalDNS(ctx context.Context) (changed bool, err error) {
	cms := c.Dynamic.Resource(configMaps).Namespace("kube-system")
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, "coredns", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			// No kubeadm CoreDNS (its addon phase skipped): nothing to keep
			// from forwarding.
			changed = false
			return nil
		}
		if err != nil {
			return err
		}
		corefile, _, _ := unstructured.NestedString(cm.Object, "data", "Corefile")
		out, ch := addons.LocalCorefile(corefile)
		if !ch {
			changed = false
			return nil
		}
		if err := unstructured.SetNestedField(cm.Object, out, "data", "Corefile"); err != nil {
			return err
		}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: FieldManager})
		changed = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("ConfigMap kube-system/coredns: %w", err)
	}
	if !changed {
		return false, nil
	}
	// As `kubectl rollout restart` does: new pods read the new Corefile
	// now, rather than after the kubelet's next sync.
	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().UTC().Format(time.RFC3339))
	if _, err := c.Dynamic.Resource(deployments).Namespace("kube-system").Patch(ctx, "coredns", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsNotFound(err) {
		return true, fmt.Errorf("restart Deployment kube-system/coredns: %w", err)
	}
	return true, nil
}
