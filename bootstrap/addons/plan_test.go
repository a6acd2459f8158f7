package addons_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/internal/golden"
	"github.com/kprov/kprov/internal/judge"
)

func example(t testing.TB, name string) string {
	return filepath.Join(judge.RepoRoot(t), "examples", name+".hcl")
}

// manifests gives Build the upstream manifests an example names.
func manifests(t testing.TB, current bool) map[string]addons.Manifest {
	if current {
		return map[string]addons.Manifest{
			addons.CalicoManifest:       fromProxy(t, calicoCurrent),
			addons.LoadBalancerManifest: fromProxy(t, metallbV0152),
			addons.IngressManifest:      fromProxy(t, nginxCurrent),
			addons.IngressCRDsManifest:  fromProxy(t, traefikCRDs),
			addons.IngressRBACManifest:  fromProxy(t, traefikRBAC),
		}
	}
	return map[string]addons.Manifest{
		addons.CalicoManifest:       upstream(t, calicoV311),
		addons.LoadBalancerManifest: fromProxy(t, metallbV0135),
		addons.IngressManifest:      upstream(t, nginx030),
	}
}

func encodeSteps(t testing.TB, steps []addons.Step) map[string][]byte {
	out := map[string][]byte{}
	for _, s := range steps {
		b, err := addons.Encode(s.Objects)
		if err != nil {
			t.Fatal(err)
		}
		out[s.Name] = b
	}
	return out
}

// changes shows a step against the upstream objects it came from: the
// objects kept as they were by name, then every changed or new object in
// full. That is what a reviewer of a golden change needs to see.
func changes(t testing.TB, step addons.Step, upstream []addons.Object) []byte {
	orig := map[string]addons.Object{}
	for _, o := range upstream {
		orig[addons.Ref(o)] = o
	}
	var b bytes.Buffer
	var changed []addons.Object
	for _, o := range step.Objects {
		if u, ok := orig[addons.Ref(o)]; ok && reflect.DeepEqual(u.Object, o.Object) {
			b.WriteString("# unchanged: " + addons.Ref(o) + "\n")
			continue
		}
		changed = append(changed, o)
	}
	y, err := addons.Encode(changed)
	if err != nil {
		t.Fatal(err)
	}
	b.WriteString("---\n")
	b.Write(y)
	return b.Bytes()
}

// upstreamOf is what a step was built from: the objects of its manifests.
func upstreamOf(t testing.TB, step string, m map[string]addons.Manifest, traefik bool) []addons.Object {
	from := map[string][]string{
		addons.StepCalico:       {addons.CalicoManifest},
		addons.StepLoadBalancer: {addons.LoadBalancerManifest},
		addons.StepIngress:      {addons.IngressManifest},
	}
	if traefik {
		from[addons.StepIngress] = []string{addons.IngressCRDsManifest, addons.IngressRBACManifest}
	}
	var up []addons.Object
	for _, name := range from[step] {
		up = append(up, decode(t, m[name])...)
	}
	return up
}

func TestBuildGolden(t *testing.T) {
	for _, tc := range []struct {
		example string
		current bool
		steps   []string
		// only, when set, is the one step kept as a golden file.
		only string
	}{
		{"lab", true, []string{"calico", "load-balancer", "load-balancer-pool", "ingress", "policies"}, ""},
		{"cluster", false, []string{"calico", "load-balancer", "load-balancer-pool", "ingress", "policies"}, ""},
		{"modern", true, []string{"calico", "load-balancer", "load-balancer-pool", "ingress", "policies"}, ""},
		// testdata/traefik.hcl: Traefik's settings away from their defaults.
		{"traefik", true, []string{"calico", "load-balancer", "load-balancer-pool", "ingress"}, "ingress"},
	} {
		t.Run(tc.example, func(t *testing.T) {
			path := example(t, tc.example)
			if tc.example == "traefik" {
				path = filepath.Join("testdata", "traefik.hcl")
			}
			c := load(t, path)
			if tc.current {
				c = current(c)
			}
			steps, err := addons.Build(c, manifests(t, tc.current))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, s := range steps {
				names = append(names, s.Name)
			}
			if strings.Join(names, " ") != strings.Join(tc.steps, " ") {
				t.Fatalf("steps %v, want %v", names, tc.steps)
			}
			first := encodeSteps(t, steps)
			again, err := addons.Build(c, manifests(t, tc.current))
			if err != nil {
				t.Fatal(err)
			}
			second := encodeSteps(t, again)
			m := manifests(t, tc.current)
			for i, s := range steps {
				if !bytes.Equal(first[s.Name], second[s.Name]) {
					t.Errorf("step %s: two builds differ", s.Name)
				}
				if tc.only != "" && s.Name != tc.only {
					continue
				}
				up := upstreamOf(t, s.Name, m, addons.TraefikOf(c) != nil)
				golden.Assert(t, tc.example+"/"+itoa(i+1)+"-"+s.Name+".yaml", changes(t, s, up))
			}
		})
	}
}

// The v3.11 manifest on the modern example's Kubernetes is refused before
// anything is applied, naming the manifest and what to do.
func TestBuildRefusesRemovedAPIs(t *testing.T) {
	c := load(t, example(t, "modern"))
	m := manifests(t, true)
	m[addons.CalicoManifest] = upstream(t, calicoV311)
	_, err := addons.Build(c, m)
	var re *addons.RemovedAPIError
	if !errors.As(err, &re) || re.KubernetesVersion != "v1.37.2" || !strings.Contains(err.Error(), "calico.yaml: CustomResourceDefinition") {
		t.Fatalf("got %v", err)
	}
}
