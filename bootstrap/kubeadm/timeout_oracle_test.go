package kubeadm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

// timeouts.control_plane reaches the real kubeadm of each configuration
// version: 1.21 (v1beta2) and 1.29 (v1beta3) say they wait that long for
// the control plane, 1.37 (v1beta4) reads it into its timeouts. kubeadm
// 1.30 reads it from no v1beta3 field (validate warns).
func TestOracleControlPlaneTimeout(t *testing.T) {
	for _, tc := range []struct{ fixture, version string }{
		{"calico311", ""}, {"v130", "v1.29.15"}, {"mirrored137", ""},
	} {
		t.Run(tc.fixture+tc.version, func(t *testing.T) {
			var f fixture
			for _, fx := range fixtures {
				if fx.name == tc.fixture {
					f = fx
				}
			}
			c := f.cluster()
			if tc.version != "" {
				c.KubernetesVersion = tc.version
			}
			if err := spec.Normalize(c); err != nil {
				t.Fatal(err)
			}
			nodes, err := plan.Nodes(c)
			if err != nil {
				t.Fatal(err)
			}
			in := Input{Cluster: c, Nodes: nodes, Secrets: testSecrets(t)}
			plain, err := InitConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			in.Cluster.Timeouts = &spec.Timeouts{ControlPlane: "17m"}
			cfg, err := InitConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			version := c.KubernetesVersion
			if c.Kubernetes().AtLeast(spec.KubeadmV1beta4) {
				// 1.37's dry run does not say how long it would wait: its
				// own migration, which prints every default, does.
				for _, tc := range []struct {
					cfg  []byte
					want string
				}{{cfg, "controlPlaneComponentHealthCheck: 17m0s"}, {plain, "controlPlaneComponentHealthCheck: 4m0s"}} {
					old := filepath.Join(t.TempDir(), "init.yaml")
					if err := os.WriteFile(old, tc.cfg, 0o600); err != nil {
						t.Fatal(err)
					}
					out, err := exec.Command(judge.Kubeadm(t, version), "config", "migrate", "--old-config", old).CombinedOutput()
					if err != nil || !strings.Contains(string(out), tc.want) {
						t.Errorf("kubeadm %s config migrate: %v, want %q in:\n%s", version, err, tc.want, out)
					}
				}
				return
			}
			for _, tc := range []struct {
				cfg  []byte
				want string
			}{{cfg, "This can take up to 17m0s"}, {plain, "This can take up to 4m0s"}} {
				out, err := judge.KubeadmInitOutput(t, version, tc.cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(out, "[wait-control-plane]") || !strings.Contains(out, tc.want) {
					t.Errorf("kubeadm %s's dry run does not say %q:\n%s", version, tc.want, out)
				}
			}
		})
	}
}
