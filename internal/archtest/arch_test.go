// Package archtest holds the tests of the repository's own shape: which
// package may import which. ARCHITECTURE.md says why.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/kprov/kprov/"

type pkg struct {
	ImportPath string
	Imports    []string
}

// packages lists the module's packages with their (non-test) imports.
func packages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports", module+"...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var ps []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		p.ImportPath = strings.TrimPrefix(p.ImportPath, module)
		ps = append(ps, p)
	}
	if len(ps) < 20 {
		t.Fatalf("go list found %d packages: is the module's path still %s?", len(ps), module)
	}
	return ps
}

// The rules, each a package pattern and what it must not import.
var rules = []struct {
	why      string
	packages func(string) bool
	forbid   func(string) bool
}{
	{
		"provision never imports bootstrap: the cluster-wide assembly (internal/artifacts) sits above both",
		prefix("provision/"), prefix(module + "bootstrap/"),
	},
	{
		"test support lives under internal/: no product package imports testing",
		func(p string) bool { return !strings.HasPrefix(p, "internal/") },
		is("testing"),
	},
	{
		"planning packages do no I/O (no files, processes or HTTP) and use no executor",
		is("provision/plan", "provision/cloudinit", "provision/secrets", "bootstrap/kubeadm", "bootstrap/nodeprep", "bootstrap/images", "bootstrap/addons"),
		func(imp string) bool {
			return is("os", "os/exec", "net/http", "io/ioutil")(imp) ||
				is(module+"provision/state", module+"provision/virt", module+"bootstrap/remote",
					module+"bootstrap/addonsrun", module+"bootstrap/kubeadmrun", module+"bootstrap/nodepreprun")(imp)
		},
	},
	{
		"nothing but cmd/kprov imports the CLI",
		func(p string) bool { return p != "cmd/kprov" && p != "cmd/cli" },
		prefix(module + "cmd/"),
	},
}

func TestImportRules(t *testing.T) {
	for _, p := range packages(t) {
		for _, r := range rules {
			if !r.packages(p.ImportPath) {
				continue
			}
			for _, imp := range p.Imports {
				if r.forbid(imp) {
					t.Errorf("%s imports %s; rule: %s", p.ImportPath, imp, r.why)
				}
			}
		}
	}
}

// The rules bite: each forbids an import that a package could make.
func TestRulesCanFail(t *testing.T) {
	cases := []struct{ pkg, imp string }{
		{"provision/virt", module + "bootstrap/remote"},
		{"bootstrap/addonsrun", "testing"},
		{"bootstrap/nodeprep", module + "bootstrap/nodepreprun"},
		{"bootstrap/kubeadm", "os"},
		{"provision/cloudinit", module + "provision/state"},
		{"bootstrap/verify", module + "cmd/cli"},
	}
	for _, c := range cases {
		caught := false
		for _, r := range rules {
			caught = caught || r.packages(c.pkg) && r.forbid(c.imp)
		}
		if !caught {
			t.Errorf("%s importing %s breaks no rule", c.pkg, c.imp)
		}
	}
}

func prefix(p string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, p) }
}

func is(names ...string) func(string) bool {
	return func(s string) bool {
		for _, n := range names {
			if s == n {
				return true
			}
		}
		return false
	}
}
