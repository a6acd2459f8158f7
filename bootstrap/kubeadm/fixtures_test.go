package kubeadm

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/secrets"
	"github.com/kprov/kprov/provision/spec"
)

// Test-only secrets: the CA in testdata was made once for these tests.
const (
	testToken   = "kprov1.0123456789abcdef"
	testCertKey = "4f2a6c1b0e9d8c7b6a5f4e3d2c1b0a998877665544332211ffeeddccbbaa0099"
)

func testSecrets(t testing.TB) *secrets.Secrets {
	t.Helper()
	ca, err := os.ReadFile(filepath.Join("testdata", "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return &secrets.Secrets{BootstrapToken: testToken, CertificateKey: testCertKey, CACert: ca}
}

func count(n int) *int { return &n }

// fixture is a named cluster spec of the golden and oracle tests.
type fixture struct {
	name    string
	cluster func() *spec.Cluster
}

var fixtures = []fixture{
	// The Calico v3.11 stack: Kubernetes 1.21, IPVS, 1 + 2 nodes.
	{"calico311", func() *spec.Cluster {
		return &spec.Cluster{
			Name:              "lab",
			KubernetesVersion: "v1.21.14",
			Calico:            &spec.Calico{Version: "v3.11.3"},
			NodePools: []*spec.NodePool{
				{Name: "cp", Role: spec.RoleControlPlane, Count: count(1)},
				{Name: "worker", Role: spec.RoleWorker, Count: count(2),
					Labels: map[string]string{"node-role.kubernetes.io/worker": "", "tier": "app"}},
			},
		}
	}},
	// A modern cluster: nftables, 3 + 2 nodes, an API endpoint name.
	{"modern", func() *spec.Cluster {
		return &spec.Cluster{
			Name:              "prod",
			KubernetesVersion: "v1.37.2",
			Network: &spec.Network{NodeCIDR: "10.30.0.0/24", PodCIDR: "10.244.0.0/16",
				ServiceCIDR: "10.112.0.0/20", DNSDomain: "prod.internal", APIEndpoint: "api.prod.internal"},
			KubeProxy: &spec.KubeProxy{Mode: "nftables"},
			Calico:    &spec.Calico{Version: "v3.29.1"},
			NodePools: []*spec.NodePool{
				{Name: "cp", Role: spec.RoleControlPlane, Count: count(3)},
				{Name: "gpu", Role: spec.RoleWorker, Count: count(2),
					Labels: map[string]string{"node.kubernetes.io/gpu": "true", "example.com/team": "ml"},
					Taints: []string{"gpu=true:NoSchedule"}},
			},
		}
	}},
	// Kubernetes 1.30, the last v1beta3 minor: iptables, untainted control plane.
	{"v130", func() *spec.Cluster {
		return &spec.Cluster{
			Name:              "mid",
			KubernetesVersion: "v1.30.14",
			KubeProxy:         &spec.KubeProxy{Mode: "iptables"},
			NodePools: []*spec.NodePool{
				{Name: "cp", Role: spec.RoleControlPlane, Count: count(1), Taints: []string{}},
				{Name: "worker", Role: spec.RoleWorker, Count: count(1)},
			},
		}
	}},
	// An air-gapped 1.21 cluster (v1beta2): the control-plane images from a
	// private repository, preflight checks ignored on init and join.
	{"mirrored121", func() *spec.Cluster {
		return &spec.Cluster{
			Name:              "airgap",
			KubernetesVersion: "v1.21.14",
			Calico:            &spec.Calico{Version: "v3.11.3"},
			Kubeadm: &spec.Kubeadm{IgnorePreflightErrors: []string{"HTTPProxyCIDR", "NumCPU"}, ImageRepository: "registry.lab:5000/k8s",
				ControllerManagerExtraArgs: map[string]string{"leader-elect-renew-deadline": "40s", "leader-elect-lease-duration": "60s"},
				SchedulerExtraArgs:         map[string]string{"leader-elect-lease-duration": "60s"}},
			NodePools: []*spec.NodePool{
				{Name: "cp", Role: spec.RoleControlPlane, Count: count(1)},
				{Name: "worker", Role: spec.RoleWorker, Count: count(1)},
			},
		}
	}},
	// The same on 1.37 (v1beta4).
	{"mirrored137", func() *spec.Cluster {
		return &spec.Cluster{
			Name:              "airgap",
			KubernetesVersion: "v1.37.2",
			KubeProxy:         &spec.KubeProxy{Mode: "nftables"},
			Calico:            &spec.Calico{Version: "v3.29.1"},
			Kubeadm: &spec.Kubeadm{IgnorePreflightErrors: []string{"HTTPProxyCIDR"}, ImageRepository: "registry.lab:5000/k8s",
				APIServerExtraArgs:         map[string]string{"audit-log-maxage": "7"},
				ControllerManagerExtraArgs: map[string]string{"leader-elect-renew-deadline": "40s", "leader-elect-lease-duration": "60s"}},
			NodePools: []*spec.NodePool{
				{Name: "cp", Role: spec.RoleControlPlane, Count: count(1)},
				{Name: "worker", Role: spec.RoleWorker, Count: count(1)},
			},
		}
	}},
	// Three control planes on kprov's own network: the virtual address
	// kube-vip holds is the endpoint (1.29+: super-admin.conf at init).
	{"ha130", func() *spec.Cluster {
		return &spec.Cluster{
			Name:              "ha",
			KubernetesVersion: "v1.30.14",
			Network:           &spec.Network{NodeCIDR: "10.40.0.0/24"},
			NodePools: []*spec.NodePool{
				{Name: "cp", Role: spec.RoleControlPlane, Count: count(3)},
				{Name: "worker", Role: spec.RoleWorker, Count: count(1)},
			},
		}
	}},
}

// input normalizes the fixture's spec and plans its nodes.
func (f fixture) input(t testing.TB) Input {
	t.Helper()
	c := f.cluster()
	if err := spec.Normalize(c); err != nil {
		t.Fatal(err)
	}
	nodes, err := plan.Nodes(c)
	if err != nil {
		t.Fatal(err)
	}
	return Input{Cluster: c, Nodes: nodes, Secrets: testSecrets(t)}
}
