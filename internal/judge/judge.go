// Package judge runs the real programs that consume kprov's artifacts; for
// tests. Each judge returns nil when the program accepts a document and an
// error carrying the program's own words when it does not.
//
// Under go test -short the judges that run programs skip the test. Without
// -short a missing program fails it, saying how to install it: a judge
// never passes by not running.
package judge

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RepoRoot is the folder holding kprov's go.mod, found by walking up from
// the working directory (a test's package folder).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}

// program is the path of a judge program. It skips the test under -short
// and fails it, with the command that installs the program, when missing.
func program(t testing.TB, name, install string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: not running %s", name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install it with `%s` (or run go test -short)", name, install)
	}
	return p
}

// writeTemp writes b to a new file called name in a private folder.
func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Need is the path of a program a test runs, from Debian package pkg: the
// test skips under -short and fails, with the install command, when it is
// missing.
func Need(t testing.TB, name, pkg string) string {
	t.Helper()
	return program(t, name, "apt-get install -y "+pkg)
}
