package judge

import (
	"path/filepath"
	"testing"
)

// KubeVIP is the path of the real kube-vip of version (v0.9.2), built
// from the Go module proxy by bootstrap/kubeadm/oracle/build-kube-vip.sh
// as upstream's Makefile builds it, cached in ~/.cache/kprov (a first
// build takes a minute or two). It skips the test under -short.
func KubeVIP(t testing.TB, version string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not building the real kube-vip " + version)
	}
	script := filepath.Join(RepoRoot(t), "bootstrap", "kubeadm", "oracle", "build-kube-vip.sh")
	return buildOracleEnv(t, []string{"KUBE_VIP_VERSION=" + version}, "kube-vip "+version, script)
}
