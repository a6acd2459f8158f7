package spec_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/kprov/kprov/internal/golden"
	"github.com/kprov/kprov/provision/spec"
)

// render loads a spec and prints its diagnostics as a user sees them.
func render(t *testing.T, l *spec.Loader, path string) (*spec.Spec, hcl.Diagnostics, string) {
	t.Helper()
	s, diags := l.LoadFile(path)
	var buf bytes.Buffer
	if err := spec.WriteDiagnostics(&buf, l.Parser.Files(), diags, 0, false); err != nil {
		t.Fatal(err)
	}
	return s, diags, buf.String()
}

// Each fixture is named for the mistake it holds; its diagnostics, with
// file:line:col and source snippets, are kept as golden text.
func TestInvalidFixtures(t *testing.T) {
	paths, _ := filepath.Glob("testdata/invalid/*.hcl")
	if len(paths) < 20 {
		t.Fatalf("found only %d fixtures", len(paths))
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".hcl")
		t.Run(name, func(t *testing.T) {
			s, diags, text := render(t, spec.NewLoader(), path)
			if strings.HasPrefix(name, "warnings-only") {
				if diags.HasErrors() || s == nil || len(s.Warnings) == 0 {
					t.Errorf("want warnings and a loaded spec, got:\n%s", text)
				}
			} else if !diags.HasErrors() || s != nil {
				t.Errorf("want errors, got none:\n%s", text)
			}
			for _, d := range diags {
				if d.Subject == nil {
					continue
				}
				if d.Subject.Filename != path || d.Subject.Start.Line == 0 {
					t.Errorf("diagnostic %q points at %v, not into %s", d.Summary, d.Subject, path)
				}
			}
			golden.Assert(t, "invalid/"+name+".txt", []byte(text))
		})
	}
}

func TestExamplesLoad(t *testing.T) {
	for _, name := range []string{"cluster", "modern", "lab"} {
		t.Run(name, func(t *testing.T) {
			s, diags, text := render(t, spec.NewLoader(), "../../examples/"+name+".hcl")
			if diags.HasErrors() || s == nil {
				t.Fatalf("example does not load:\n%s", text)
			}
		})
	}
}

func TestVariablePrecedence(t *testing.T) {
	dir := t.TempDir()
	varFile := filepath.Join(dir, "vars.hcl")
	if err := os.WriteFile(varFile, []byte("workers = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	count := func(l *spec.Loader) int {
		t.Helper()
		s, diags, text := render(t, l, "../../examples/cluster.hcl")
		if diags.HasErrors() {
			t.Fatalf("load: %s", text)
		}
		for _, p := range s.Cluster.NodePools {
			if p.Name == "worker" {
				return *p.Count
			}
		}
		t.Fatal("no worker pool")
		return 0
	}
	cases := []struct {
		name string
		l    *spec.Loader
		want int
	}{
		{"default", &spec.Loader{}, 2},
		{"env", &spec.Loader{Env: []string{"KPROV_VAR_workers=3"}}, 3},
		{"file beats env", &spec.Loader{Env: []string{"KPROV_VAR_workers=3"}, VarFiles: []string{varFile}}, 4},
		{"flag beats file", &spec.Loader{VarFiles: []string{varFile}, Vars: []string{"workers=5"}}, 5},
		{"last flag wins", &spec.Loader{Vars: []string{"workers=5", "workers=6"}}, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := *c.l
			l.Parser = spec.NewLoader().Parser
			if got := count(&l); got != c.want {
				t.Errorf("workers = %d, want %d", got, c.want)
			}
		})
	}
}

func TestVariableErrors(t *testing.T) {
	cases := []struct {
		name string
		l    spec.Loader
		want string
	}{
		{"undeclared flag", spec.Loader{Vars: []string{"nodes=3"}}, `-var sets "nodes" but the spec declares no such variable; declared: workers.`},
		{"not NAME=VALUE", spec.Loader{Vars: []string{"workers"}}, `"workers" is not NAME=VALUE`},
		{"wrong type", spec.Loader{Vars: []string{"workers=many"}}, `Variable "workers" (set by -var workers) must be number`},
		{"validation", spec.Loader{Vars: []string{"workers=99"}}, `Use between 1 and 50 workers.`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := c.l
			l.Parser = spec.NewLoader().Parser
			_, diags, text := render(t, &l, "../../examples/cluster.hcl")
			if !diags.HasErrors() || !strings.Contains(text, c.want) {
				t.Errorf("want an error containing %q, got:\n%s", c.want, text)
			}
		})
	}
}

// A file that cannot be a spec (a disk image, a huge log) is refused in
// one short error, not one parse error per line.
func TestNotASpec(t *testing.T) {
	dir := t.TempDir()
	binary := append([]byte("cluster \"x\" {\n"), 0xff, 0xfe, 0x00, 'Q', 'F', 'I', 0xfb)
	huge := []byte(strings.Repeat("# a comment line\n", spec.MaxSpecSize/16))
	for name, tc := range map[string]struct {
		src  []byte
		want string
	}{
		"disk.qcow2": {binary, "is not UTF-8 text (byte 14, on line 2, is not)"},
		"huge.hcl":   {huge, "kprov reads at most 1048576"},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, tc.src, 0o644); err != nil {
			t.Fatal(err)
		}
		s, diags, text := render(t, spec.NewLoader(), path)
		if s != nil || len(diags) != 1 || !strings.Contains(text, tc.want) {
			t.Errorf("%s: %d diagnostics, want 1 saying %q:\n%s", name, len(diags), tc.want, text)
		}
		if n := strings.Count(text, "\n"); n > 8 {
			t.Errorf("%s: %d lines of output", name, n)
		}
	}
}
