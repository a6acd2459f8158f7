package labtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kprov/kprov/internal/judge"
)

// Server starts one of the lab's servers (provision/lab/mirror.sh or
// registry.sh) in this test's namespace on addr, and stops it at cleanup.
// Their content is built before the tests (make test: lab-mirror-build,
// lab-images).
func Server(t *testing.T, script, addr string) {
	t.Helper()
	path := filepath.Join(judge.RepoRoot(t), "provision", "lab", script)
	env := append(os.Environ(), "KPROV_LAB_NETNS="+os.Getenv(NSEnv))
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command("bash", append([]string{path}, args...)...)
		cmd.Env = env
		return cmd.CombinedOutput()
	}
	if out, err := run("serve", addr); err != nil {
		t.Fatalf("%s serve %s: %v\n%s\n(build its content first: make lab-mirror-build lab-images)", script, addr, err, out)
	}
	t.Cleanup(func() {
		if out, err := run("stop"); err != nil {
			t.Errorf("%s stop: %v\n%s", script, err, out)
		}
	})
}
