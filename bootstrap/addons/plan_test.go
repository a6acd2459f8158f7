package addons_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/provision/golden"
	"github.com/kprov/kprov/provision/judge"
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

func TestBuildGolden(t *testing.T) {
	for _, tc := range []struct {
		example string
		current bool
		steps   []string
	}{
		{"lab", true, []string{"calico", "policies"}},
		{"cluster", false, []string{"calico", "load-balancer", "load-balancer-pool", "ingress", "policies"}},
		{"modern", true, []string{"calico", "policies"}},
	} {
		t.Run(tc.example, func(t *testing.T) {
			c := load(t, example(t, tc.example))
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
			from := map[string]string{addons.StepCalico: addons.CalicoManifest, addons.StepLoadBalancer: addons.LoadBalancerManifest, addons.StepIngress: addons.IngressManifest}
			for i, s := range steps {
				if !bytes.Equal(first[s.Name], second[s.Name]) {
					t.Errorf("step %s: two builds differ", s.Name)
				}
				var up []addons.Object
				if name, ok := from[s.Name]; ok {
					up = decode(t, m[name])
				}
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
