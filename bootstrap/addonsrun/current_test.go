package addonsrun_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/bootstrap/addonsrun"
	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/bootstrap/verify"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/spec"
)

// The modern path on the real kube-apiserver 1.37: current Calico (VXLAN
// off, BGP), kube-proxy nftables per examples/modern.hcl, MetalLB v0.15 and
// the current ingress-nginx controller for the Service, global default
// deny. Then the v3.11 manifest, which kprov's gate refuses before
// applying, is shown to really fail on this server.
func TestCurrentStackOn137(t *testing.T) {
	api := judge.StartAPIServer(t, "v1.37.2")
	c := load(t, "modern")
	c.Calico.Version = judge.CalicoCurrentVersion // the release of the calicoCurrent manifest it is given
	c.Ingress = &spec.Ingress{Namespace: "ingress-nginx", ServiceName: "ingress-nginx-controller", ExternalTrafficPolicy: "Local",
		Addresses: []string{"10.18.0.240"}, LoadBalancer: "metallb"}
	steps, err := addons.Build(c, map[string]addons.Manifest{
		addons.CalicoManifest:       fromProxy(t, calicoCurrent),
		addons.LoadBalancerManifest: fromProxy(t, metallbV0152),
		addons.IngressManifest:      fromProxy(t, nginxCurrent),
	})
	if err != nil {
		t.Fatal(err)
	}
	steps = withoutWebhooks(steps)
	cl := client(t, api)
	stop := judge.Controllers(cl.Dynamic)
	first := applyAll(t, cl, steps)
	// Every object is new but the default namespace, which exists.
	if first.Created != count(steps)-1 {
		t.Fatalf("first apply: %+v of %d objects", first, count(steps))
	}
	proxy, err := kubeadm.KubeProxyConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	standIns(t, cl.Dynamic, cl, steps, proxy, map[string]any{"cidr": c.Calico.PoolCIDR, "ipipMode": "Never", "vxlanMode": "Never"}, "10.18.0.240")
	if failed := verified(t, cl.Dynamic, verify.Expect(c)); len(failed) > 0 {
		t.Fatalf("checks failed: %v", failed)
	}
	stop()
	before := versions(t, cl.Dynamic, cl, steps)
	again := applyAll(t, cl, steps)
	if again.Created != 0 || again.Changed != 0 {
		t.Errorf("second apply: %+v", again)
	}
	for ref, v := range versions(t, cl.Dynamic, cl, steps) {
		if before[ref] != v {
			t.Errorf("%s: resourceVersion %s -> %s", ref, before[ref], v)
		}
	}

	// kprov's gate refuses v3.11 on this Kubernetes before applying...
	old := upstream(t, "calico/v3.11/calico.yaml")
	_, err = addons.Build(c, map[string]addons.Manifest{
		addons.CalicoManifest: old, addons.LoadBalancerManifest: fromProxy(t, metallbV0152), addons.IngressManifest: fromProxy(t, nginxCurrent),
	})
	var re *addons.RemovedAPIError
	if !errors.As(err, &re) || re.APIVersion != "apiextensions.k8s.io/v1beta1" {
		t.Fatalf("gate: %v", err)
	}
	// ...and the server agrees: applying its CRDs fails.
	objs, err := addons.Decode(old.Source, old.Data)
	if err != nil {
		t.Fatal(err)
	}
	var crds []addons.Object
	for _, o := range objs {
		if o.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, o)
		}
	}
	_, err = cl.Step(context.Background(), addons.Step{Name: "calico-v3.11", Objects: crds})
	var oe *addonsrun.ObjectError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "does not serve apiextensions.k8s.io/v1beta1 CustomResourceDefinition") {
		t.Fatalf("applying v3.11's CRDs to 1.37: %v", err)
	}
	t.Logf("gate: %v", re)
	t.Logf("server: %v", err)
}
