package spec

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// Loader reads spec files. Its parser keeps every file it read, so
// diagnostics can be printed with source snippets afterwards.
type Loader struct {
	Parser *hclparse.Parser
	// Vars are -var NAME=VALUE settings, in command-line order.
	Vars []string
	// VarFiles are -var-file paths, in command-line order.
	VarFiles []string
	// Env is the process environment (KEY=VALUE); KPROV_VAR_name sets a variable.
	Env []string
}

// NewLoader returns a Loader with a fresh parser.
func NewLoader() *Loader { return &Loader{Parser: hclparse.NewParser()} }

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "cluster", LabelNames: []string{"name"}},
	},
}

// LoadFile reads, decodes, defaults and validates the spec at filename.
// Errors and warnings come back as diagnostics; the Spec is nil when any
// diagnostic is an error.
func (l *Loader) LoadFile(filename string) (*Spec, hcl.Diagnostics) {
	src, err := os.ReadFile(filename)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read spec file",
			Detail:   fmt.Sprintf("%v. Pass the path of an HCL cluster spec, for example examples/cluster.hcl.", err),
		}}
	}
	return l.Load(filename, src)
}

// MaxSpecSize bounds a spec file: real ones are a few KiB.
const MaxSpecSize = 1 << 20

// notASpec refuses, in one error, what cannot be a spec: too large, or
// not UTF-8 text (a binary, a disk image named by mistake), instead of
// one parse error per line.
func notASpec(filename string, src []byte) hcl.Diagnostics {
	if len(src) > MaxSpecSize {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Spec file too large",
			Detail: fmt.Sprintf("%s is %d bytes; a cluster spec is a few KiB and kprov reads at most %d. Is it the right file?", filename, len(src), MaxSpecSize)}}
	}
	if !utf8.Valid(src) {
		i := 0
		for i < len(src) {
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		line := 1 + bytes.Count(src[:i], []byte("\n"))
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Spec file is not text",
			Detail: fmt.Sprintf("%s is not UTF-8 text (byte %d, on line %d, is not): a cluster spec is an HCL text file. Is it the right file?", filename, i, line)}}
	}
	return nil
}

// Load is LoadFile for source already in memory.
func (l *Loader) Load(filename string, src []byte) (*Spec, hcl.Diagnostics) {
	if d := notASpec(filename, src); d != nil {
		return nil, d
	}
	file, diags := l.Parser.ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, diags
	}
	content, d := file.Body.Content(rootSchema)
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}

	vars, d := l.variables(content.Blocks)
	diags = append(diags, d...)
	if d.HasErrors() {
		return nil, diags
	}
	locals, d := evalLocals(content.Blocks, vars)
	diags = append(diags, d...)
	if d.HasErrors() {
		return nil, diags
	}
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": objectOf(vars), "local": objectOf(locals)},
		Functions: functions(),
	}

	var clusters []*hcl.Block
	for _, b := range content.Blocks {
		if b.Type == "cluster" {
			clusters = append(clusters, b)
		}
	}
	switch {
	case len(clusters) == 0:
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No cluster block",
			Detail:   `A spec holds exactly one cluster "NAME" { ... } block; see examples/cluster.hcl.`,
			Subject:  file.Body.MissingItemRange().Ptr(),
		})
	case len(clusters) > 1:
		first := clusters[0].DefRange
		for _, b := range clusters[1:] {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "More than one cluster block",
				Detail:   fmt.Sprintf("A spec holds exactly one cluster; the first is at %s. Put each cluster in its own file.", first),
				Subject:  b.DefRange.Ptr(),
			})
		}
		return nil, diags
	}

	c := &Cluster{}
	diags = append(diags, gohcl.DecodeBody(clusters[0].Body, ctx, c)...)
	c.Name = clusters[0].Labels[0]
	c.NameRange = clusters[0].LabelRanges[0]
	c.DefRange = clusters[0].DefRange
	if diags.HasErrors() {
		return nil, diags
	}
	diags = append(diags, Check(c)...)
	if diags.HasErrors() {
		return nil, diags
	}
	var warnings hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagWarning {
			warnings = append(warnings, d)
		}
	}
	return &Spec{Filename: filename, Cluster: c, Warnings: warnings}, diags
}

// Check normalizes c and validates it, returning every problem at once.
func Check(c *Cluster) hcl.Diagnostics {
	var diags hcl.Diagnostics
	v := &validator{c: c}
	// Sizes are reported where they are written; Normalize leaves a size it
	// cannot parse at zero and validation goes on, to report every problem.
	v.sizes()
	_ = Normalize(c)
	v.validate()
	diags = append(diags, v.diags...)
	sort.SliceStable(diags, func(i, j int) bool { return before(diags[i], diags[j]) })
	return diags
}

// before orders diagnostics by position so output is stable.
func before(a, b *hcl.Diagnostic) bool {
	if a.Subject == nil || b.Subject == nil {
		return a.Subject != nil
	}
	if a.Subject.Filename != b.Subject.Filename {
		return a.Subject.Filename < b.Subject.Filename
	}
	return a.Subject.Start.Byte < b.Subject.Start.Byte
}

func objectOf(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}
