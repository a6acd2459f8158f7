package verify

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/bootstrap/remote"
)

// stubCase is one answer of a stub command: when its arguments ("$*")
// match the shell pattern, it runs action (shell) and exits with rc.
type stubCase struct {
	pattern, action string
	rc              int
}

// prints is an action printing s as it is.
func prints(s string) string { return "printf '%s' " + remote.Quote(s) }

// writeStub writes command name into dir: it appends "name ARGS" to
// dir/calls, answers the first case that matches, else exits fallback.
func writeStub(t *testing.T, dir, name string, fallback int, cases ...stubCase) {
	t.Helper()
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "printf '%%s\\n' \"%s $*\" >> %s\n", name, remote.Quote(filepath.Join(dir, "calls")))
	b.WriteString("case \"$*\" in\n")
	for _, c := range cases {
		if c.action == "" {
			c.action = ":"
		}
		fmt.Fprintf(&b, "%s) %s; exit %d ;;\n", c.pattern, c.action, c.rc)
	}
	fmt.Fprintf(&b, "esac\nexit %d\n", fallback)
	if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
}

// calls is what the stubs in dir were run with, one line each.
func calls(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "calls"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// shell is a POSIX shell the scripts are run with: dash (Debian's sh) and
// BusyBox's ash with its own applets first on PATH, as in the agnhost
// image (Alpine).
type shell struct {
	name string
	argv []string
	// applets is a directory of BusyBox applets, "" for dash.
	applets string
}

func shells(t *testing.T) []shell {
	t.Helper()
	out := []shell{{name: "dash", argv: []string{"/bin/sh"}}}
	bb, err := exec.LookPath("busybox")
	if err != nil {
		t.Log("no busybox on this machine (apt-get install busybox): the scripts run under dash only")
		return out
	}
	dir := t.TempDir()
	for _, a := range []string{"cat", "tr", "grep", "head", "sleep", "printf", "echo"} {
		if err := os.Symlink(bb, filepath.Join(dir, a)); err != nil {
			t.Fatal(err)
		}
	}
	return append(out, shell{name: "busybox", argv: []string{bb, "sh"}, applets: dir})
}

// run runs script under sh with the stubs of dir first on PATH (then
// sh's applets, then the system's) and env added; it returns stdout and
// stderr.
func (sh shell) run(t *testing.T, dir, script string, env ...string) (string, string) {
	t.Helper()
	return sh.runIn(t, "", dir, script, env...)
}

// runIn is run inside network namespace netns (ip netns exec) when set.
func (sh shell) runIn(t *testing.T, netns, dir, script string, env ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	path := dir
	if sh.applets != "" {
		path += ":" + sh.applets
	}
	argv := append(append([]string{}, sh.argv...), "-c", script)
	if netns != "" {
		argv = append([]string{"ip", "netns", "exec", netns}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + path + ":/usr/bin:/bin", "HOME=" + dir}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run() // the target script's exec fails here: no /agnhost
	if ctx.Err() != nil {
		t.Fatalf("%s: script still running after 60 s:\n%s\n%s", sh.name, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}
