package judge

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// KubeadmInit has the real kubeadm of kubernetesVersion (v1.X.Y) run
// `init --dry-run --config` on config, in a sandbox, and judges its output.
func KubeadmInit(t testing.TB, kubernetesVersion string, config []byte) error {
	t.Helper()
	_, err := KubeadmInitOutput(t, kubernetesVersion, config, nil)
	return err
}

// KubeadmInitOutput is KubeadmInit that also returns what kubeadm printed
// (the files it would write, static pod manifests included), with etc's
// files (paths under /etc, such as the kubeadm patches a configuration
// names) in the sandbox's /etc.
func KubeadmInitOutput(t testing.TB, kubernetesVersion string, config []byte, etc map[string][]byte) (string, error) {
	t.Helper()
	bin := Kubeadm(t, kubernetesVersion)
	start := time.Now()
	out, err := sandboxed(t, etcTree(t, etc), bin, "init", "--dry-run", "--skip-phases=preflight",
		"--config", writeTemp(t, "init.yaml", config))
	if err := verdict(out, err); err != nil {
		return out, fmt.Errorf("kubeadm %s init --dry-run: %w", kubernetesVersion, err)
	}
	t.Logf("kubeadm %s init --dry-run accepted in %s", kubernetesVersion, time.Since(start).Round(time.Millisecond))
	return out, nil
}

// KubeadmJoin has the real kubeadm of kubernetesVersion check a join
// config: `config validate` where it exists, else `config migrate`, which
// strictly decodes, defaults and validates the file in 1.21.
func KubeadmJoin(t testing.TB, kubernetesVersion string, config []byte) error {
	t.Helper()
	bin := Kubeadm(t, kubernetesVersion)
	file := writeTemp(t, "join.yaml", config)
	args := []string{"config", "migrate", "--old-config", file, "--new-config", os.DevNull}
	// Cobra answers an unknown subcommand's --help with its parent's help.
	help, _ := exec.Command(bin, "config", "validate", "--help").CombinedOutput()
	if bytes.Contains(help, []byte("kubeadm config validate [flags]")) {
		args = []string{"config", "validate", "--config", file}
	}
	if err := verdict(sandboxed(t, "", bin, args...)); err != nil {
		return fmt.Errorf("kubeadm %s %s: %w", kubernetesVersion, strings.Join(args[:2], " "), err)
	}
	return nil
}

// kubeadm is the path of the real kubeadm of version, built from the Go
// module proxy by bootstrap/kubeadm/oracle/build.sh and cached in
// ~/.cache/kprov (a first build takes minutes).
func Kubeadm(t testing.TB, version string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not running the real kubeadm " + version)
	}
	if os.Geteuid() != 0 {
		t.Fatal("kubeadm judges need root: kubeadm runs in a private mount and network namespace")
	}
	program(t, "unshare", "apt-get install -y util-linux")
	return buildOracle(t, "kubeadm "+version, filepath.Join(RepoRoot(t), "bootstrap", "kubeadm", "oracle", "build.sh"), version)
}

// etcTree writes files (paths under /etc) into a temporary folder laid out
// as /etc, for sandboxed; "" without files.
func etcTree(t testing.TB, files map[string][]byte) string {
	t.Helper()
	if len(files) == 0 {
		return ""
	}
	dir := t.TempDir()
	for p, data := range files {
		rel, ok := strings.CutPrefix(filepath.Clean(p), "/etc/")
		if !ok {
			t.Fatalf("sandbox file %s is not under /etc", p)
		}
		dst := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sandboxed runs kubeadm with args in private mount and network
// namespaces: /etc is an overlay on a tmpfs, so `init --dry-run` writing
// under /etc/kubernetes leaves the host alone, and only loopback exists,
// so no lookup leaves the machine.
// The files of the folder etc (if not "") are copied into that /etc.
func sandboxed(t testing.TB, etc, kubeadm string, args ...string) (string, error) {
	t.Helper()
	ov := filepath.Join(t.TempDir(), "ov")
	if err := os.Mkdir(ov, 0o700); err != nil {
		t.Fatal(err)
	}
	script := `set -e
mount -t tmpfs kprov-oracle "$1"
mkdir "$1/u" "$1/w"
mount -t overlay kprov-oracle -o lowerdir=/etc,upperdir="$1/u",workdir="$1/w" /etc
if [ -n "$2" ]; then cp -R "$2/." /etc/; fi
shift 2
exec "$@"`
	cmd := exec.Command("unshare", append([]string{"--mount", "--net", "--propagation", "private",
		"sh", "-c", script, "sh", ov, etc, kubeadm}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// verdict fails unless kubeadm exited 0 and printed no error and no strict
// decoding warning. Ignored preflight warnings and the CoreDNS "errors"
// plugin in the printed manifests are not failures.
func verdict(out string, runErr error) error {
	if runErr != nil {
		return fmt.Errorf("kubeadm failed: %v\n%s", runErr, out)
	}
	for _, line := range strings.Split(out, "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "[warning ") || strings.TrimSpace(l) == "errors" {
			continue
		}
		for _, bad := range []string{"error", "unknown field", "strict decod"} {
			if strings.Contains(l, bad) {
				return fmt.Errorf("kubeadm output has %q: %s", bad, line)
			}
		}
	}
	return nil
}
