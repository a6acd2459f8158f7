package kubeadm

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/internal/judge"
)

// TestOracleImages has the real kubeadm of each fixture's version list its
// images twice: for the bare version (its own defaults: checks
// images.Kubeadm's table) and for kprov's init configuration (checks that
// kubeadm runs exactly the images kprov pre-pulls and pins, with the
// spec's image_repository).
func TestOracleImages(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			in := f.input(t)
			version := in.Cluster.KubernetesVersion
			want, err := images.Kubeadm(in.Cluster)
			if err != nil {
				t.Fatal(err)
			}
			var refs []string
			for _, img := range want {
				refs = append(refs, img.Ref)
			}
			cfg, err := InitConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			bin := judge.Kubeadm(t, version)
			file := filepath.Join(t.TempDir(), "init.yaml")
			if err := os.WriteFile(file, cfg, 0o600); err != nil {
				t.Fatal(err)
			}
			if got := kubeadmImages(t, bin, "--config", file); !reflect.DeepEqual(got, refs) {
				t.Errorf("kubeadm %s config images list --config:\n%s\nkprov's list:\n%s", version, strings.Join(got, "\n"), strings.Join(refs, "\n"))
			}
			if in.Cluster.Kubeadm.ImageRepository != "" {
				return
			}
			if got := kubeadmImages(t, bin, "--kubernetes-version", version); !reflect.DeepEqual(got, refs) {
				t.Errorf("kubeadm %s config images list (its defaults):\n%s\nkprov's table:\n%s", version, strings.Join(got, "\n"), strings.Join(refs, "\n"))
			}
		})
	}
}

// kubeadmImages runs `kubeadm config images list ARGS` in a network
// namespace of its own (loopback only: it must not look anything up
// online), and returns its lines.
func kubeadmImages(t *testing.T, bin string, args ...string) []string {
	t.Helper()
	unshare := judge.Need(t, "unshare", "util-linux")
	cmd := exec.Command(unshare, append([]string{"--net", bin, "config", "images", "list"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("kubeadm config images list %s: %v\n%s%s", strings.Join(args, " "), err, out, ee.Stderr)
		}
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}
