package kubeadm

import (
	"bytes"
	"testing"

	"github.com/kprov/kprov/internal/golden"
	"github.com/kprov/kprov/provision/plan"
)

// TestGolden renders the init configuration and every join configuration
// of each fixture, and checks that a second rendering is byte-identical.
func TestGolden(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			in := f.input(t)
			render := func(n *plan.Node) []byte {
				t.Helper()
				var b []byte
				var err error
				if n == nil {
					b, err = InitConfig(in)
				} else {
					b, err = JoinConfig(in, *n)
				}
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			got := render(nil)
			if again := render(nil); !bytes.Equal(got, again) {
				t.Error("init config differs between two renderings")
			}
			golden.Assert(t, f.name+"/init.yaml", got)
			first, _ := plan.FirstControlPlane(in.Nodes)
			for _, n := range in.Nodes {
				if n.Name == first.Name {
					continue
				}
				golden.Assert(t, f.name+"/join-"+n.Name+".yaml", render(&n))
			}
		})
	}
}
