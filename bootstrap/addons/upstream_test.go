package addons_test

import (
	"testing"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/spec"
)

// The upstream manifests tests patch. The early-2020 ones are faithful
// copies in ../shared/upstream (see its SOURCES.md); the current ones come
// from the upstream repositories' module zips on the Go module proxy.
const (
	calicoV311   = "calico/v3.11/calico.yaml"
	nginx030     = "ingress-nginx/v0.30.0/deploy/static/mandatory.yaml"
	nginx030LB   = "ingress-nginx/v0.30.0/deploy/static/provider/cloud-generic.yaml"
	denyIngress  = "calico/policy-examples/v3.11/kubernetes-policy-demo-default-deny.yaml"
	denyAll      = "calico/policy-examples/v3.11/kubernetes-networkpolicy-default-deny.yaml"
	denyAllKYAML = "kubernetes-docs/networkpolicy/network-policy-default-deny-all.yaml"
	globalDeny   = "calico/policy-examples/v3.11/globalnetworkpolicy-default-deny.yaml"
)

// Current manifests, from upstream module zips on the Go module proxy.
var (
	calicoCurrent   = judge.CalicoCurrent
	nginxCurrent    = judge.NginxCurrent
	metallbV0135    = judge.MetalLBV0135
	metallbV0152    = judge.MetalLBV0152
	metallbPoolDocs = judge.Module{Path: "go.universe.tf/metallb", Version: "v0.13.5", File: "configsamples/ipaddresspool_simple.yaml"}
	// Traefik's published CRDs and ClusterRole, of kprov's default release.
	traefikCRDs = judge.Module{Path: "github.com/traefik/traefik/v3", Version: spec.DefaultTraefikVersion, File: spec.TraefikCRDsFile}
	traefikRBAC = judge.Module{Path: "github.com/traefik/traefik/v3", Version: spec.DefaultTraefikVersion, File: spec.TraefikRBACFile}
)

func upstream(t testing.TB, rel string) addons.Manifest {
	t.Helper()
	path, data := judge.Upstream(t, rel)
	return addons.Manifest{Source: path, Data: data}
}

func fromProxy(t testing.TB, m judge.Module) addons.Manifest {
	t.Helper()
	source, data := judge.FromProxy(t, m)
	return addons.Manifest{Source: source, Data: data}
}

func decode(t testing.TB, m addons.Manifest) []addons.Object {
	t.Helper()
	objs, err := addons.Decode(m.Source, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func load(t testing.TB, path string) *spec.Cluster {
	t.Helper()
	s, diags := spec.NewLoader().LoadFile(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return s.Cluster
}

// current makes c name the Calico release of calicoCurrent, the manifest
// tests give it (examples/modern.hcl names a newer one).
func current(c *spec.Cluster) *spec.Cluster {
	c.Calico.Version = judge.CalicoCurrentVersion
	return c
}
