package artifacts_test

import (
	"path"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/internal/judge"
)

// TestExamplesPassJudges has the program that consumes each artifact of
// every example judge it: libvirt, cloud-init and the kubeadm of the
// cluster's own version. Meta-data and node preparation files have no
// judge. Under -short only the network-config schema runs.
func TestExamplesPassJudges(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			c := load(t, "../../examples/"+name+".hcl")
			set := build(t, c, fixedSecrets(t, c.Name))
			// kubeadm init reads the node's patches, where the node has them.
			patches := map[string][]byte{}
			for _, f := range set.Files {
				if dir, name := path.Split(f.Path); strings.HasSuffix(dir, "/kubeadm/patches/") && f.Node == set.Nodes[0].Name {
					patches[kubeadm.PatchesDir+"/"+name] = f.Data
				}
			}
			judges := map[string]func(testing.TB, []byte) error{
				"xml": judge.VirtXML,
				"init.yaml": func(t testing.TB, b []byte) error {
					_, err := judge.KubeadmInitOutput(t, c.KubernetesVersion, b, patches)
					return err
				},
				"join.yaml":      func(t testing.TB, b []byte) error { return judge.KubeadmJoin(t, c.KubernetesVersion, b) },
				"network-config": judge.NetworkConfig,
				"user-data":      judge.UserData,
			}
			judged := map[string]int{}
			for _, f := range set.Files {
				kind := path.Base(f.Path)
				if strings.HasPrefix(f.Path, "libvirt/") && path.Ext(f.Path) == ".xml" {
					kind = "xml"
				}
				j, ok := judges[kind]
				if !ok {
					continue
				}
				judged[kind]++
				t.Run(f.Path, func(t *testing.T) {
					if err := j(t, f.Data); err != nil {
						t.Errorf("%v\n%s", err, f.Data)
					}
				})
			}
			// A renamed artifact must not slip past its judge: the network,
			// pool and base volume, then an overlay, seed and domain a node.
			n := len(set.Nodes)
			want := map[string]int{"xml": 3 + 3*n, "init.yaml": 1, "join.yaml": n - 1, "network-config": n, "user-data": n}
			for kind, w := range want {
				if judged[kind] != w {
					t.Errorf("%d %s artifacts judged, want %d", judged[kind], kind, w)
				}
			}
		})
	}
}
