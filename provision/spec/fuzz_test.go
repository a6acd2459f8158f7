package spec_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/kprov/kprov/provision/spec"
)

// FuzzLoad feeds the loader arbitrary bytes. Whatever the input, it must
// not panic, and a failure must be diagnostics a user can act on: errors
// with a summary, pointing into the input, and no Spec. A Spec it returns
// holds a cluster with a usable name. The diagnostics are printed the way
// kprov prints them, which must not panic either.
//
// CI runs the seeds (go test); a fuzzing run (a short minimize time keeps
// the big seeds from stalling the workers for a minute per new input):
//
//	go test ./provision/spec/ -run '^$' -fuzz '^FuzzLoad$' -fuzztime 60s -fuzzminimizetime 10s
func FuzzLoad(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{"../../examples/*.hcl", "testdata/invalid/*.hcl"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, paths...)
	}
	if len(seeds) < 20 {
		f.Fatalf("found only %d seed files", len(seeds))
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	// Small hand-made inputs around the edges of the grammar.
	for _, s := range []string{
		``,
		`cluster "a" {}`,
		`cluster "a" { node_pool "cp" { role = "control-plane" } image { source = "/i.qcow2" } }`,
		`cluster "a" { node_pool "cp" { role = "control-plane" count = -1 } image { source = "x" } }`,
		`cluster "a" { node_pool "cp" { role = "control-plane" memory = "1e308GiB" } image { source = "x" } }`,
		`cluster "a" { calico { ip_autodetection_method = "interface=(" } image { source = "x" } }`,
		`cluster "a" { network { node_cidr = "10.0.0.0/31" } image { source = "x" } }`,
		`cluster "a" { network { api_endpoint = "[::1]:" } image { source = "x" } }`,
		`cluster "" { image { source = "x" } }`,
		`cluster "a" { kubernetes_version = "" }`,
		`variable "v" { default = 1 } cluster "a" { node_pool "p" { role = "worker" count = var.v } }`,
		`variable "v" { type = list(string) validation { condition = length(var.v) > 0 error_message = "x" } }`,
		`locals { a = local.b b = local.a } cluster "a" {}`,
		`locals { a = range(2000) } cluster "a" {}`,
		"cluster \"a\" {\n  image { source = \"${\"x\"}\" }\n}\n",
		"cluster \"a\" {\n  labels = { \"k\" = \"v\" }\n}\n",
		"\xff\xfe\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := spec.NewLoader()
		s, diags := l.Load("fuzz.hcl", data)

		var buf bytes.Buffer
		if err := spec.WriteDiagnostics(&buf, l.Parser.Files(), diags, 78, false); err != nil {
			t.Fatalf("WriteDiagnostics: %v", err)
		}
		if err := spec.WriteDiagnostics(&buf, l.Parser.Files(), diags, 0, true); err != nil {
			t.Fatalf("WriteDiagnostics (color): %v", err)
		}

		lines := bytes.Count(data, []byte("\n")) + 1
		for _, d := range diags {
			if d == nil {
				t.Fatal("nil diagnostic")
			}
			if d.Severity == hcl.DiagError && strings.TrimSpace(d.Summary) == "" {
				t.Errorf("error diagnostic without a summary: %#v", d)
			}
			if d.Subject == nil {
				continue
			}
			r := d.Subject
			if r.Filename != "fuzz.hcl" {
				t.Errorf("%q points into %q, not the input", d.Summary, r.Filename)
			}
			if r.Start.Line < 1 || r.Start.Column < 1 || r.Start.Line > lines || r.End.Line > lines ||
				r.Start.Byte < 0 || r.Start.Byte > r.End.Byte || r.End.Byte > len(data) {
				t.Errorf("%q points at %s (bytes %d-%d), outside the %d-byte, %d-line input",
					d.Summary, r, r.Start.Byte, r.End.Byte, len(data), lines)
			}
		}

		if diags.HasErrors() {
			if s != nil {
				t.Fatalf("a Spec came back with errors:\n%s", buf.String())
			}
			return
		}
		if s == nil {
			t.Fatalf("no Spec and no error:\n%s", buf.String())
		}
		if s.Cluster == nil {
			t.Fatal("a Spec without a cluster")
		}
		if errs := validation.IsDNS1123Label(s.Cluster.Name); len(errs) > 0 {
			t.Errorf("cluster name %q accepted: %v", s.Cluster.Name, errs)
		}
		for _, w := range s.Warnings {
			if w.Severity != hcl.DiagWarning {
				t.Errorf("Warnings holds a %v diagnostic: %q", w.Severity, w.Summary)
			}
		}
	})
}
