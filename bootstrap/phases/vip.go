package phases

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/bootstrap/kubeadmrun"
	"github.com/kprov/kprov/bootstrap/remote"
)

// vipWait is how long the API may take to answer through the virtual
// address after kube-vip's pod changed (a restart under emulation).
const vipWait = 10 * time.Minute

// vipBeforeInit places the first control plane's kube-vip pod before
// kubeadm init, which reaches the API server through the address kube-vip
// takes; nothing without a virtual address or once init has finished.
func (b *Bootstrapper) vipBeforeInit(ctx context.Context, cp *remote.Conn) error {
	vip, ok := b.o.Cluster.APIVIP()
	if !ok {
		return nil
	}
	if done, err := kubeadmrun.InitFinished(ctx, cp); err != nil || done {
		return err
	}
	pod, err := kubeadm.VIPPod(vip, b.o.Cluster.APIVIPLease(), kubeadm.VIPKubeconfig(b.o.Cluster, true))
	if err != nil {
		return err
	}
	placed, err := kubeadmrun.PlaceVIPPod(ctx, cp, pod)
	if placed {
		b.changed(1, "%s: kube-vip static pod placed for kubeadm init (it will hold %s)", cp.Name(), vip)
	}
	return err
}

// vipPod makes a control plane's kube-vip pod the one it keeps (reading
// admin.conf) once kubeadm has made that node a control plane, and waits
// for the API through the address when the pod changed.
func (b *Bootstrapper) vipPod(ctx context.Context, n *remote.Conn) error {
	vip, ok := b.o.Cluster.APIVIP()
	if !ok {
		return nil
	}
	pod, err := kubeadm.VIPPod(vip, b.o.Cluster.APIVIPLease(), kubeadm.AdminConfPath)
	if err != nil {
		return err
	}
	placed, err := kubeadmrun.PlaceVIPPod(ctx, n, pod)
	if err != nil || !placed {
		return err
	}
	b.changed(1, "%s: kube-vip static pod placed (holds %s with the other control planes)", n.Name(), vip)
	endpoint := net.JoinHostPort(vip.String(), fmt.Sprint(kubeadm.APIPort))
	return kubeadmrun.WaitAPI(ctx, n, endpoint, vipWait)
}

// checkEndpoint refuses a cluster whose admin kubeconfig (admin.conf of
// the first control plane) names another endpoint than the spec: kubeadm
// wrote that endpoint into every kubeconfig and certificate, and kprov
// does not move it on a running cluster.
func (b *Bootstrapper) checkEndpoint(adminConf []byte) error {
	want, err := kubeadm.Endpoint(kubeadm.Input{Cluster: b.o.Cluster, Nodes: b.o.Nodes})
	if err != nil {
		return err
	}
	cfg, err := clientcmd.Load(adminConf)
	if err != nil {
		return fmt.Errorf("admin.conf of the first control plane: %w", err)
	}
	ctx := cfg.Contexts[cfg.CurrentContext]
	if ctx == nil || cfg.Clusters[ctx.Cluster] == nil {
		return fmt.Errorf("admin.conf of the first control plane has no current cluster")
	}
	u, err := url.Parse(cfg.Clusters[ctx.Cluster].Server)
	if err != nil {
		return fmt.Errorf("admin.conf of the first control plane: server: %w", err)
	}
	if u.Host == want {
		return nil
	}
	return &EndpointError{Have: u.Host, Want: want}
}

// EndpointError is a spec whose API endpoint is not the running cluster's.
type EndpointError struct{ Have, Want string }

func (e *EndpointError) Error() string {
	host, _, _ := net.SplitHostPort(e.Have)
	return fmt.Sprintf("the cluster was made with the API endpoint %s, and the spec now gives %s (more control planes get a shared virtual address, network.api_vip): "+
		"kubeadm wrote the endpoint into every kubeconfig and certificate, and kprov does not move it on a running cluster. "+
		"Keep the old one with network { api_endpoint = %q }, or make the cluster again (kprov down, then up) to have the new one", e.Have, e.Want, host)
}
