package kubeadm

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/spec"
)

// timeouts.control_plane reaches the real kubeadm of each configuration
// version: its dry run waits that long for the control plane.
func TestOracleControlPlaneTimeout(t *testing.T) {
	for _, name := range []string{"calico311", "v130", "mirrored137"} {
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
			in.Cluster.Timeouts = &spec.Timeouts{ControlPlane: "17m"}
			cfg, err := InitConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			version := in.Cluster.KubernetesVersion
			if in.Cluster.Kubernetes().AtLeast(spec.KubeadmV1beta4) {
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
				want bool
			}{{cfg, true}, {plain, false}} {
				out, err := judge.KubeadmInitOutput(t, version, tc.cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := strings.Contains(out, "17m0s"); got != tc.want {
					t.Errorf("kubeadm %s's dry run says 17m0s: %v, want %v\n%s", version, got, tc.want, tc.cfg)
				}
			}
		})
	}
}
