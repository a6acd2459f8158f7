package addonsrun

import (
	"context"
	"fmt"
	"io"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/drain"
)

// Leave takes a node out of the cluster as `kubectl drain --force
// --ignore-daemonsets --delete-emptydir-data` then `kubectl delete node`
// would: cordoned, every pod but DaemonSets' and mirror pods evicted
// (PodDisruptionBudgets honoured, within timeout), then its Node object
// deleted. A node the cluster does not know is left alone; it reports
// whether the node was there.
func (c *Client) Leave(ctx context.Context, name string, timeout time.Duration, out io.Writer) (bool, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return false, err
	}
	node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("node %s: %w", name, err)
	}
	h := &drain.Helper{
		Ctx: ctx, Client: cs,
		Force: true, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
		GracePeriodSeconds: -1, Timeout: timeout,
		// A node whose kubelet is gone never confirms its pods' deletion:
		// after a minute they are not waited for (kubectl drain
		// --skip-wait-for-delete-timeout), as the node is going anyway.
		SkipWaitForDeleteTimeoutSeconds: 60,
		Out:                             out, ErrOut: out,
	}
	if err := drain.RunCordonOrUncordon(h, node, true); err != nil {
		return true, fmt.Errorf("cordon %s: %w", name, err)
	}
	if err := drain.RunNodeDrain(h, name); err != nil {
		return true, fmt.Errorf("drain %s: %w; its pods may be held by a PodDisruptionBudget (kubectl get pdb -A) or slow to stop: run up again, or drain it by hand", name, err)
	}
	err = cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return true, fmt.Errorf("delete node %s: %w", name, err)
	}
	return true, nil
}
