package kubeadm

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/judge"
)

// The probe settings the lab's spec relaxes, as patches.
var probePatches = map[string]string{
	"kube-apiserver+strategic.yaml": "spec:\n  containers:\n  - name: kube-apiserver\n    livenessProbe:\n      timeoutSeconds: 47\n      failureThreshold: 31\n",
	"etcd+json.yaml":                "- op: replace\n  path: /spec/containers/0/livenessProbe/failureThreshold\n  value: 29\n",
}

// TestOraclePatches has the real kubeadm apply the spec's patches: its
// dry run prints the static pod manifests, patched, from the directory the
// configuration names.
func TestOraclePatches(t *testing.T) {
	for _, name := range []string{"v130", "mirrored137"} {
		t.Run(name, func(t *testing.T) {
			var f fixture
			for _, fx := range fixtures {
				if fx.name == name {
					f = fx
				}
			}
			in := f.input(t)
			plain, err := InitConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(plain, []byte("patches")) {
				t.Fatalf("a spec without patches renders a patches field:\n%s", plain)
			}
			in.Cluster.Kubeadm.Patches = probePatches
			cfg, err := InitConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(cfg, []byte("directory: "+PatchesDir)) {
				t.Fatalf("init config does not name %s:\n%s", PatchesDir, cfg)
			}
			// The patches where the node has them: in the judge's /etc.
			etc := map[string][]byte{}
			for n, p := range probePatches {
				etc[PatchesDir+"/"+n] = []byte(p)
			}
			version := in.Cluster.KubernetesVersion
			out, err := judge.KubeadmInitOutput(t, version, cfg, etc)
			if err != nil {
				t.Fatal(err)
			}
			// kubeadm says what it applied; the API server's manifest is
			// printed patched (1.30's dry run does not print etcd's).
			for _, want := range []string{
				`Applied patch of type "application/json-patch+json" to target "etcd"`,
				`Applied patch of type "application/strategic-merge-patch+json" to target "kube-apiserver"`,
				"timeoutSeconds: 47", "failureThreshold: 31",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("kubeadm %s's dry run has no %q: the patches were not applied", version, want)
				}
			}
			if strings.Contains(out, "etcd.yaml with content") && !strings.Contains(out, "failureThreshold: 29") {
				t.Errorf("kubeadm %s's dry run prints etcd's manifest without the patched failureThreshold", version)
			}
			// The same dry run without patches prints none of them.
			out, err = judge.KubeadmInitOutput(t, version, plain, nil)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out, "timeoutSeconds: 47") || strings.Contains(out, `to target "etcd"`) || strings.Contains(out, `to target "kube-apiserver"`) {
				t.Errorf("kubeadm %s's dry run without patches prints the patched values", version)
			}
			for _, n := range in.Nodes[1:] {
				join, err := JoinConfig(in, n)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Contains(join, []byte("directory: "+PatchesDir)) {
					t.Errorf("join config of %s does not name %s", n.Name, PatchesDir)
				}
				if err := judge.KubeadmJoin(t, version, join); err != nil {
					t.Errorf("join config of %s rejected: %v", n.Name, err)
				}
			}
		})
	}
}

func TestPatchesRefusedOnV1beta2(t *testing.T) {
	in := fixtures[0].input(t) // calico311: 1.21.14
	in.Cluster.Kubeadm.Patches = probePatches
	if _, err := InitConfig(in); err == nil || !strings.Contains(err.Error(), "no patches") {
		t.Fatalf("want a refusal of patches on v1beta2, got %v", err)
	}
}
