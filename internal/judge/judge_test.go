package judge

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB that records a Fatal or Skip instead of ending
// the test that runs it.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Fatal(a ...any)            { r.end(&r.fatal, fmt.Sprint(a...)) }
func (r *recorder) Fatalf(f string, a ...any) { r.end(&r.fatal, fmt.Sprintf(f, a...)) }
func (r *recorder) Skip(a ...any)             { r.end(&r.skip, fmt.Sprint(a...)) }
func (r *recorder) Skipf(f string, a ...any)  { r.end(&r.skip, fmt.Sprintf(f, a...)) }

func (r *recorder) end(into *string, msg string) {
	*into = msg
	runtime.Goexit()
}

// record runs f with a recorder on its own goroutine, as Goexit needs.
func record(t *testing.T, f func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// A missing program fails the test with how to install it, and skips it
// only under -short: a judge never passes by not running.
func TestMissingProgram(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for name, f := range map[string]func(testing.TB){
		"virt-xml-validate": func(tb testing.TB) { _ = VirtXML(tb, []byte("<domain/>")) },
		"cloud-init":        func(tb testing.TB) { _ = UserData(tb, []byte("#cloud-config\n")) },
	} {
		r := record(t, f)
		switch {
		case testing.Short() && !strings.Contains(r.skip, "-short"):
			t.Errorf("%s: under -short, want a skip; skip %q, fatal %q", name, r.skip, r.fatal)
		case !testing.Short() && !strings.Contains(r.fatal, "apt-get install -y"):
			t.Errorf("%s: missing, want a failure with an install hint; skip %q, fatal %q", name, r.skip, r.fatal)
		}
	}
}

func TestVerdict(t *testing.T) {
	for _, c := range []struct {
		out  string
		err  error
		pass bool
	}{
		{"[dryrun] Would write file \"/etc/kubernetes/admin.conf\"\n", nil, true},
		{"[WARNING FileExisting-crictl]: crictl not found in system path: error\n", nil, true},
		{".:53 {\n        errors\n        health\n", nil, true},
		{"W0101 strict decoding error: unknown field \"notAField\"\n", nil, false},
		{"invalid configuration\n", errors.New("exit status 1"), false},
	} {
		if err := verdict(c.out, c.err); (err == nil) != c.pass {
			t.Errorf("verdict(%q, %v) = %v, want pass %v", c.out, c.err, err, c.pass)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	want, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if got := RepoRoot(t); got != want {
		t.Errorf("RepoRoot = %s, want %s", got, want)
	}
}
