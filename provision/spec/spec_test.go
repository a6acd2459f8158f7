package spec

import (
	"reflect"
	"testing"
)

func TestParseMiB(t *testing.T) {
	good := map[string]int{"512MiB": 512, "2GiB": 2048, "2Gi": 2048, "2G": 2048, "1.5GiB": 1536, " 1TiB ": 1 << 20, "20 GiB": 20480}
	for in, want := range good {
		if got, err := ParseMiB(in); err != nil || got != want {
			t.Errorf("ParseMiB(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2", "lots", "-1GiB", "0GiB", "1.0001MiB", "2KiB", "GiB"} {
		if got, err := ParseMiB(bad); err == nil {
			t.Errorf("ParseMiB(%q) = %d, want an error", bad, got)
		}
	}
}

func TestPodMTU(t *testing.T) {
	cases := []struct {
		nic   int
		encap string
		mtu   string
		want  int
	}{
		{1500, "none", "auto", 1500},
		{1500, "ipip", "auto", 1480},
		{1500, "vxlan", "auto", 1450},
		{9000, "vxlan", "auto", 8950},
		{1500, "ipip", "1400", 1400},
		{1500, "none", "12x", 0},
	}
	for _, c := range cases {
		cl := &Cluster{Network: &Network{MTU: c.nic}, Calico: &Calico{Encapsulation: c.encap, MTU: c.mtu}}
		if got := PodMTU(cl); got != c.want {
			t.Errorf("PodMTU(nic %d, %s, %s) = %d, want %d", c.nic, c.encap, c.mtu, got, c.want)
		}
	}
}

func TestCalicoManifestURL(t *testing.T) {
	cases := map[string]string{
		"v3.11.3": "https://docs.projectcalico.org/v3.11/manifests/calico.yaml",
		"v3.9.1":  "https://docs.projectcalico.org/v3.9/manifests/calico.yaml",
		"v3.31.5": "https://raw.githubusercontent.com/projectcalico/calico/v3.31.5/manifests/calico.yaml",
	}
	for in, want := range cases {
		if got := CalicoManifestURL(in); got != want {
			t.Errorf("CalicoManifestURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// Normalize fills every default, so planners never see an empty value.
func TestNormalizeDefaults(t *testing.T) {
	c := &Cluster{Name: "x", NodePools: []*NodePool{{Name: "cp", Role: RoleControlPlane}}}
	if err := Normalize(c); err != nil {
		t.Fatal(err)
	}
	checks := map[string]string{
		"kubernetes_version": c.KubernetesVersion, "uri": c.Hypervisor.URI, "storage_pool": c.Hypervisor.StoragePool,
		"gateway": c.Network.Gateway, "pool_cidr": c.Calico.PoolCIDR, "ip_autodetection_method": c.Calico.IPAutodetectionMethod,
		"ipvs_scheduler": c.KubeProxy.IPVSScheduler, "disk_bus": c.NodePools[0].DiskBus,
		"crictl_version": c.Artifacts.CrictlVersion,
	}
	want := map[string]string{
		"kubernetes_version": "v1.21.14", "uri": "qemu:///system", "storage_pool": "/var/lib/kprov/pools/x",
		"gateway": "10.17.0.1", "pool_cidr": "192.168.0.0/16", "ip_autodetection_method": "interface=eth0",
		"ipvs_scheduler": "rr", "disk_bus": "nvme", "crictl_version": "v1.21.0",
	}
	for k, got := range checks {
		if got != want[k] {
			t.Errorf("%s = %q, want %q", k, got, want[k])
		}
	}
	if c.NodePools[0].MemoryMiB != 2048 || c.NodePools[0].DiskSizeGiB != 20 || *c.NodePools[0].Count != 1 || c.Calico.PodMTU != 1500 {
		t.Errorf("derived values wrong: %+v, pod MTU %d", c.NodePools[0], c.Calico.PodMTU)
	}
}

// TestCrictlVersion: cri-tools follows Kubernetes minors, so crictl
// defaults to v1.MINOR.0; a version the spec sets wins, in kubeadm's v form.
func TestCrictlVersion(t *testing.T) {
	for _, tc := range []struct{ kube, set, want string }{
		{"1.21.14", "", "v1.21.0"},
		{"v1.30.14", "", "v1.30.0"},
		{"1.21.14", "v1.30.0", "v1.30.0"},
		{"1.21.14", "1.21.1", "v1.21.1"},
	} {
		c := &Cluster{Name: "x", KubernetesVersion: tc.kube, NodePools: []*NodePool{{Name: "cp", Role: RoleControlPlane}},
			Artifacts: &Artifacts{CrictlVersion: tc.set}}
		if err := Normalize(c); err != nil {
			t.Fatal(err)
		}
		if c.Artifacts.CrictlVersion != tc.want {
			t.Errorf("kubernetes %s, crictl_version %q: %q, want %q", tc.kube, tc.set, c.Artifacts.CrictlVersion, tc.want)
		}
	}
	if latest, _ := ParseVersion("latest"); DefaultCrictlVersion(latest) != "" {
		t.Errorf("DefaultCrictlVersion(latest) = %q, want empty", DefaultCrictlVersion(latest))
	}
}

// An ingress block without a manifest gets Traefik from Kubernetes 1.22 on,
// with its published manifests, namespace, Service and one replica; one
// that names a manifest, or runs on 1.21, keeps the manifest path.
func TestIngressControllerDefaults(t *testing.T) {
	two := 2
	for _, tc := range []struct {
		name, kube string
		in         Ingress
		want       Ingress
		replicas   int
	}{
		{"traefik by default", "1.37.2", Ingress{}, Ingress{
			Controller: "traefik", Version: "v3.6.12", Namespace: "traefik", ServiceName: "traefik",
			CRDsManifest: "https://raw.githubusercontent.com/traefik/traefik/v3.6.12/docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml",
			RBACManifest: "https://raw.githubusercontent.com/traefik/traefik/v3.6.12/docs/content/reference/dynamic-configuration/kubernetes-crd-rbac.yml",
		}, 1},
		{"traefik as set", "1.22.17", Ingress{Version: "v3.5.0", Namespace: "edge", Replicas: &two, CRDsManifest: "crds.yaml"}, Ingress{
			Controller: "traefik", Version: "v3.5.0", Namespace: "edge", ServiceName: "traefik", CRDsManifest: "crds.yaml",
			RBACManifest: "https://raw.githubusercontent.com/traefik/traefik/v3.5.0/docs/content/reference/dynamic-configuration/kubernetes-crd-rbac.yml",
		}, 2},
		{"manifest named", "1.37.2", Ingress{Manifest: "haproxy.yaml"}, Ingress{
			Controller: "manifest", Manifest: "haproxy.yaml", Namespace: "ingress-nginx", ServiceName: "ingress-nginx",
		}, 0},
		{"1.21 keeps ingress-nginx 0.30.0", "1.21.14", Ingress{}, Ingress{
			Controller: "manifest", Manifest: DefaultIngressManifest, Namespace: "ingress-nginx", ServiceName: "ingress-nginx",
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			c := &Cluster{Name: "x", KubernetesVersion: tc.kube, NodePools: []*NodePool{{Name: "cp", Role: RoleControlPlane}}, Ingress: &in}
			applyDefaults(c)
			got := *c.Ingress
			replicas := 0
			if got.Replicas != nil {
				replicas = *got.Replicas
			}
			got.Replicas, got.ExternalTrafficPolicy, got.LoadBalancer = nil, "", ""
			if !reflect.DeepEqual(got, tc.want) || replicas != tc.replicas {
				t.Errorf("got %+v, %d replicas\nwant %+v, %d replicas", got, replicas, tc.want, tc.replicas)
			}
		})
	}
}

func TestAPIVIP(t *testing.T) {
	count := func(n int) *int { return &n }
	for _, tc := range []struct {
		name    string
		network Network
		cps     int
		want    string // "" for none
	}{
		{"one control plane", Network{}, 1, ""},
		{"three control planes", Network{}, 3, "10.17.0.10"},
		{"gateway on the default", Network{Gateway: "10.17.0.10"}, 3, "10.17.0.9"},
		{"own endpoint", Network{APIEndpoint: "lb.example.com"}, 3, ""},
		{"bridge", Network{Mode: "bridge", Bridge: "br0"}, 3, ""},
		{"written, one control plane", Network{APIVIP: "10.17.0.99"}, 1, "10.17.0.99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.network
			n.NodeCIDR = "10.17.0.0/24"
			c := &Cluster{Name: "x", Network: &n, NodePools: []*NodePool{{Name: "cp", Role: RoleControlPlane, Count: count(tc.cps)}, {Name: "w", Role: RoleWorker, Count: count(2)}}}
			if err := Normalize(c); err != nil {
				t.Fatal(err)
			}
			got, ok := c.APIVIP()
			if s := got.String(); !ok && tc.want != "" || ok && s != tc.want {
				t.Errorf("APIVIP() = %v, %v; want %q", got, ok, tc.want)
			}
		})
	}
}
