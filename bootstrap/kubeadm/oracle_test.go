package kubeadm

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/plan"
)

// The oracle is the real kubeadm of each fixture's version, built from the
// Go module proxy by oracle/build.sh (cached in ~/.cache/kprov).

// oracle returns the path of the real kubeadm of version, building it when
// it is not cached (a first build takes minutes).
func oracle(t *testing.T, version string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("oracle tests run the real kubeadm " + version + "; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("oracle tests need root: kubeadm runs in a private mount and network namespace")
	}
	start := time.Now()
	out, err := exec.Command("bash", filepath.Join("oracle", "build.sh"), version).Output()
	if err != nil {
		t.Fatalf("build kubeadm %s: %v\n%s", version, err, stderrOf(err))
	}
	t.Logf("kubeadm %s ready in %s", version, time.Since(start).Round(time.Millisecond))
	return strings.TrimSpace(string(out))
}

func stderrOf(err error) []byte {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Stderr
	}
	return nil
}

// sandboxed runs kubeadm with args in private mount and network namespaces:
// /etc is an overlay on a tmpfs, so `init --dry-run` writing under
// /etc/kubernetes leaves the host alone, and only loopback exists, so no
// lookup leaves the machine.
func sandboxed(t *testing.T, kubeadm string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	ov := filepath.Join(dir, "ov")
	if err := os.Mkdir(ov, 0o700); err != nil {
		t.Fatal(err)
	}
	script := `set -e
mount -t tmpfs kprov-oracle "$1"
mkdir "$1/u" "$1/w"
mount -t overlay kprov-oracle -o lowerdir=/etc,upperdir="$1/u",workdir="$1/w" /etc
shift
exec "$@"`
	cmd := exec.Command("unshare", append([]string{"--mount", "--net", "--propagation", "private",
		"sh", "-c", script, "sh", ov, kubeadm}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// judge fails unless kubeadm exited 0 and printed no error and no strict
// decoding warning. Ignored preflight warnings and the CoreDNS "errors"
// plugin in the printed manifests are not failures.
func judge(out string, runErr error) error {
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

// validateArgs is how a kubeadm version checks a join file: `config
// validate` where it exists, else `config migrate`, which strictly decodes,
// defaults and validates the file in 1.21.
func validateArgs(t *testing.T, kubeadm, file string) []string {
	t.Helper()
	// Cobra answers an unknown subcommand's --help with its parent's help.
	help, _ := exec.Command(kubeadm, "config", "validate", "--help").CombinedOutput()
	if bytes.Contains(help, []byte("kubeadm config validate [flags]")) {
		return []string{"config", "validate", "--config", file}
	}
	return []string{"config", "migrate", "--old-config", file, "--new-config", os.DevNull}
}

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// etcSnapshot lists /etc/kubernetes on the host, to prove the sandbox
// keeps kubeadm's dry-run files off it.
func etcSnapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir("/etc/kubernetes", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v\n", p, info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestOracleAccepts has the real kubeadm of each fixture's version dry-run
// the init config and validate every join config.
func TestOracleAccepts(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			in := f.input(t)
			kubeadm := oracle(t, in.Cluster.KubernetesVersion)
			before := etcSnapshot(t)
			b, err := InitConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			out, runErr := sandboxed(t, kubeadm, "init", "--dry-run", "--ignore-preflight-errors=all",
				"--config", writeTemp(t, "init.yaml", b))
			if err := judge(out, runErr); err != nil {
				t.Fatalf("init config rejected: %v", err)
			}
			t.Logf("init --dry-run accepted in %s", time.Since(start).Round(time.Millisecond))
			first, _ := plan.FirstControlPlane(in.Nodes)
			for _, n := range in.Nodes {
				if n.Name == first.Name {
					continue
				}
				b, err := JoinConfig(in, n)
				if err != nil {
					t.Fatal(err)
				}
				args := validateArgs(t, kubeadm, writeTemp(t, "join-"+n.Name+".yaml", b))
				if err := judge(sandboxed(t, kubeadm, args...)); err != nil {
					t.Errorf("join config of %s rejected by kubeadm %s: %v", n.Name, args[:2], err)
				}
			}
			if after := etcSnapshot(t); after != before {
				t.Errorf("/etc/kubernetes changed on the host:\nbefore:\n%safter:\n%s", before, after)
			}
		})
	}
}

// TestOracleRejects feeds broken files to the same harness and expects it
// to fail: the judge must be able to say no.
func TestOracleRejects(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			in := f.input(t)
			kubeadm := oracle(t, in.Cluster.KubernetesVersion)
			init, err := InitConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			first, _ := plan.FirstControlPlane(in.Nodes)
			var join []byte
			for _, n := range in.Nodes {
				if n.Name != first.Name {
					if join, err = JoinConfig(in, n); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			cases := []struct {
				name       string
				src        []byte
				old, new   string
				initDryRun bool
			}{
				{"invalid podSubnet", init, "podSubnet: " + in.Cluster.Network.PodCIDR, "podSubnet: 10.244.0.0/99", true},
				{"unknown field", init, "mode: ", "notAField: true\nmode: ", true},
				{"malformed join token", join, "token: " + testToken, "token: not-a-token", false},
				{"unknown join field", join, "discovery:", "notAField: true\ndiscovery:", false},
			}
			for _, c := range cases {
				broken := bytes.Replace(c.src, []byte(c.old), []byte(c.new), 1)
				if bytes.Equal(broken, c.src) {
					t.Fatalf("%s: %q is not in the rendered file", c.name, c.old)
				}
				file := writeTemp(t, "broken.yaml", broken)
				args := validateArgs(t, kubeadm, file)
				if c.initDryRun {
					args = []string{"init", "--dry-run", "--ignore-preflight-errors=all", "--config", file}
				}
				out, runErr := sandboxed(t, kubeadm, args...)
				err := judge(out, runErr)
				if err == nil {
					t.Errorf("%s: kubeadm accepted the broken file:\n%s", c.name, broken)
					continue
				}
				t.Logf("%s: rejected: %s", c.name, firstLine(err.Error()))
			}
		})
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
