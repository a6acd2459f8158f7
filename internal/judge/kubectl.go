package judge

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kprov/kprov/provision/cache"
)

// Kubectl is the path of the real kubectl of version (v1.X.Y), a client
// for tests to drive API servers with. It is built as the lab mirror builds
// the nodes' kubectl (bootstrap/kubeadm/oracle/build.sh, static, cached in
// the kprov cache's static folder), so one build serves both; a first build
// takes minutes. It skips the test under -short.
func Kubectl(t testing.TB, version string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not building the real kubectl " + version)
	}
	build := filepath.Join(RepoRoot(t), "bootstrap", "kubeadm", "oracle", "build.sh")
	out := filepath.Join(cache.Dir("static", os.Getenv), "kubectl-"+version)
	return buildOracleEnv(t, []string{"CGO_ENABLED=0"}, "kubectl "+version, build, version, out, "kubectl")
}
