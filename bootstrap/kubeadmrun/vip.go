package kubeadmrun

import (
	"context"
	"fmt"
	"time"

	"github.com/kprov/kprov/bootstrap/remote"
)

// VIPManifest is where a control plane's kube-vip static pod
// (bootstrap/kubeadm.VIPPod) goes.
const VIPManifest = "/etc/kubernetes/manifests/kube-vip.yaml"

// PlaceVIPPod makes n's kube-vip static pod pod (0600, as kubeadm writes
// its own), unless it already is; the kubelet starts or restarts it.
func PlaceVIPPod(ctx context.Context, n remote.Node, pod []byte) (bool, error) {
	have, err := n.Run(ctx, "cat "+VIPManifest+" 2>/dev/null || true")
	if err != nil {
		return false, err
	}
	if have == string(pod) {
		return false, nil
	}
	if _, err := n.Run(ctx, "mkdir -p /etc/kubernetes/manifests"); err != nil {
		return false, err
	}
	return true, n.Upload(ctx, VIPManifest, pod, 0o600)
}

// InitFinished reports whether kubeadm init finished on n.
func InitFinished(ctx context.Context, n remote.Node) (bool, error) {
	return exists(ctx, n, InitDone)
}

// WaitAPI waits, at most timeout, until the API server answers /readyz
// through endpoint (host:port) from n, with n's admin.conf.
func WaitAPI(ctx context.Context, n remote.Node, endpoint string, timeout time.Duration) error {
	get := fmt.Sprintf("kubectl --kubeconfig %s --server %s --request-timeout 5s get --raw /readyz", AdminConf, remote.Quote("https://"+endpoint))
	cmd := fmt.Sprintf("timeout %d sh -c %s || %s", int(timeout.Seconds()), remote.Quote("until "+get+" >/dev/null 2>&1; do sleep 2; done"), get)
	if _, err := n.Run(ctx, cmd); err != nil {
		return fmt.Errorf("the API server did not answer through %s within %s (kube-vip holds that address: see crictl logs of its container on the control planes): %w", endpoint, timeout, err)
	}
	return nil
}
