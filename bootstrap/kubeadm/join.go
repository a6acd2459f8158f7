package kubeadm

import (
	"errors"
	"fmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	kubeadmapi "k8s.io/kubernetes/cmd/kubeadm/app/apis/kubeadm"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

// JoinConfig is the JoinConfiguration of `kubeadm join` on node n: discovery
// by bootstrap token pinned to the CA public key; a control-plane node also
// gets its local API endpoint and the certificate key.
func JoinConfig(in Input, n plan.Node) ([]byte, error) {
	apiVersion, err := APIVersion(in.Cluster.Kubernetes())
	if err != nil {
		return nil, err
	}
	if err := checkSecrets(in.Secrets); err != nil {
		return nil, err
	}
	if first, ok := plan.FirstControlPlane(in.Nodes); ok && first.Name == n.Name {
		return nil, fmt.Errorf("node %s is the first control plane: it runs kubeadm init, not join", n.Name)
	}
	if !n.IP.IsValid() {
		return nil, errors.New("node " + n.Name + " has no IP address")
	}
	hash, err := CACertHash(in.Secrets.CACert)
	if err != nil {
		return nil, err
	}
	endpoint, err := Endpoint(in)
	if err != nil {
		return nil, err
	}
	reg, err := nodeRegistration(in.Cluster, n)
	if err != nil {
		return nil, err
	}
	patchCfg, err := patches(in.Cluster, apiVersion)
	if err != nil {
		return nil, err
	}
	cfg := &kubeadmapi.JoinConfiguration{
		Patches:          patchCfg,
		NodeRegistration: reg,
		Timeouts:         &kubeadmapi.Timeouts{}, // see versioned
		Discovery: kubeadmapi.Discovery{BootstrapToken: &kubeadmapi.BootstrapTokenDiscovery{
			Token:             in.Secrets.BootstrapToken,
			APIServerEndpoint: endpoint,
			CACertHashes:      []string{hash},
		}},
	}
	switch n.Role {
	case spec.RoleControlPlane:
		cfg.ControlPlane = &kubeadmapi.JoinControlPlane{
			LocalAPIEndpoint: kubeadmapi.APIEndpoint{AdvertiseAddress: n.IP.String(), BindPort: APIPort},
			CertificateKey:   in.Secrets.CertificateKey,
		}
		if d := in.Cluster.ControlPlaneTimeout(); d > 0 {
			cfg.Timeouts.ControlPlaneComponentHealthCheck = &metav1.Duration{Duration: d}
		}
	case spec.RoleWorker:
	default:
		return nil, fmt.Errorf("node %s: unknown role %q", n.Name, n.Role)
	}
	docs, err := kubeadmDocs(apiVersion, cfg)
	if err != nil {
		return nil, err
	}
	return finish(apiVersion, docs, in.Secrets)
}
