package spec

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvPrefix starts the environment variables that set spec variables.
const EnvPrefix = "KPROV_VAR_"

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "condition", Required: true}, {Name: "error_message", Required: true}},
}

type variable struct {
	name       string
	block      *hcl.Block
	typ        cty.Type
	def        *hcl.Attribute
	validation []*hcl.Block
}

// variables decodes the variable blocks and resolves each value, in rising
// precedence: default, KPROV_VAR_name, -var-file (in order), -var (in order).
func (l *Loader) variables(blocks hcl.Blocks) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	decl := map[string]*variable{}
	var order []string
	for _, b := range blocks {
		if b.Type != "variable" {
			continue
		}
		name := b.Labels[0]
		if first, ok := decl[name]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Duplicate variable",
				Detail:  fmt.Sprintf("Variable %q was already declared at %s; remove one of them.", name, first.block.DefRange),
				Subject: b.DefRange.Ptr(),
			})
			continue
		}
		if !hclsyntax.ValidIdentifier(name) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid variable name",
				Detail:  "A variable name starts with a letter and holds only letters, digits, underscores and dashes.",
				Subject: b.LabelRanges[0].Ptr(),
			})
			continue
		}
		v, d := decodeVariable(b)
		diags = append(diags, d...)
		decl[name] = v
		order = append(order, name)
	}
	if diags.HasErrors() {
		return nil, diags
	}

	raw := map[string]cty.Value{}
	rng := map[string]hcl.Range{}
	for name, v := range decl {
		if v.def != nil {
			val, d := v.def.Expr.Value(nil)
			diags = append(diags, d...)
			raw[name], rng[name] = val, v.def.Expr.Range()
		}
	}
	for _, kv := range l.Env {
		k, val, ok := strings.Cut(kv, "=")
		name, isVar := strings.CutPrefix(k, EnvPrefix)
		if !ok || !isVar {
			continue
		}
		if v, declared := decl[name]; declared {
			raw[name], rng[name] = parseCLIValue(val, v.typ), hcl.Range{Filename: "environment variable " + k}
		}
	}
	for _, path := range l.VarFiles {
		d := l.varFile(path, decl, raw, rng)
		diags = append(diags, d...)
	}
	for _, s := range l.Vars {
		name, val, ok := strings.Cut(s, "=")
		src := hcl.Range{Filename: "-var " + name}
		switch _, declared := decl[name]; {
		case !ok:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid -var option",
				Detail: fmt.Sprintf("%q is not NAME=VALUE; for example -var workers=3.", s)})
		case !declared:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared variable",
				Detail: fmt.Sprintf("-var sets %q but the spec declares no such variable; declared: %s.", name, list(order))})
		default:
			raw[name], rng[name] = parseCLIValue(val, decl[name].typ), src
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}

	vals := map[string]cty.Value{}
	for _, name := range order {
		v := decl[name]
		val, ok := raw[name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "No value for required variable",
				Detail:  fmt.Sprintf("Variable %q has no default: set it with -var %s=VALUE, a -var-file, or %s%s.", name, name, EnvPrefix, name),
				Subject: v.block.DefRange.Ptr(),
			})
			continue
		}
		conv, err := convert.Convert(val, v.typ)
		if err != nil {
			r := rng[name]
			from := ""
			if subject(r) == nil && r.Filename != "" {
				from = " (set by " + r.Filename + ")"
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError, Summary: "Invalid value for variable",
				Detail:  fmt.Sprintf("Variable %q%s must be %s: %v.", name, from, typeexpr.TypeString(v.typ), err),
				Subject: subject(r),
			})
			continue
		}
		vals[name] = conv
	}
	if diags.HasErrors() {
		return nil, diags
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": objectOf(vals)}, Functions: functions()}
	for _, name := range order {
		diags = append(diags, checkValidations(decl[name], ctx)...)
	}
	return vals, diags
}

func decodeVariable(b *hcl.Block) (*variable, hcl.Diagnostics) {
	content, diags := b.Body.Content(variableSchema)
	v := &variable{name: b.Labels[0], block: b, typ: cty.DynamicPseudoType, def: content.Attributes["default"]}
	if t, ok := content.Attributes["type"]; ok {
		ty, d := typeexpr.TypeConstraint(t.Expr)
		diags = append(diags, d...)
		v.typ = ty
	}
	for _, vb := range content.Blocks {
		_, d := vb.Body.Content(validationSchema)
		diags = append(diags, d...)
		v.validation = append(v.validation, vb)
	}
	return v, diags
}

func checkValidations(v *variable, ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, vb := range v.validation {
		content, _ := vb.Body.Content(validationSchema)
		cond, d := content.Attributes["condition"].Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if cond.Type() != cty.Bool || cond.IsNull() || !cond.IsKnown() {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid validation condition",
				Detail: "A condition must be true or false.", Subject: content.Attributes["condition"].Expr.Range().Ptr()})
			continue
		}
		if cond.True() {
			continue
		}
		msg, d := content.Attributes["error_message"].Expr.Value(ctx)
		diags = append(diags, d...)
		text := "the value is not valid"
		if !d.HasErrors() && msg.Type() == cty.String && msg.IsKnown() && !msg.IsNull() {
			text = msg.AsString()
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Invalid value for variable",
			Detail:  fmt.Sprintf("Variable %q: %s", v.name, text),
			Subject: content.Attributes["condition"].Expr.Range().Ptr(),
		})
	}
	return diags
}

// varFile reads NAME = VALUE assignments from an HCL file.
func (l *Loader) varFile(path string, decl map[string]*variable, raw map[string]cty.Value, rng map[string]hcl.Range) hcl.Diagnostics {
	src, err := os.ReadFile(path)
	if err != nil {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read variables file", Detail: err.Error() + "."}}
	}
	f, diags := l.Parser.ParseHCL(src, path)
	if diags.HasErrors() {
		return diags
	}
	attrs, d := f.Body.JustAttributes()
	diags = append(diags, d...)
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := attrs[n]
		if _, ok := decl[n]; !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared variable",
				Detail:  fmt.Sprintf("This file sets %q but the spec declares no such variable.", n),
				Subject: a.NameRange.Ptr()})
			continue
		}
		val, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		raw[n], rng[n] = val, a.Expr.Range()
	}
	return diags
}

// parseCLIValue reads a -var or environment value: a string for string
// variables, an HCL expression otherwise (as Terraform does).
func parseCLIValue(s string, ty cty.Type) cty.Value {
	if ty == cty.String || ty == cty.DynamicPseudoType {
		return cty.StringVal(s)
	}
	expr, diags := hclsyntax.ParseExpression([]byte(s), "value", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.StringVal(s)
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() {
		return cty.StringVal(s)
	}
	return v
}

func subject(r hcl.Range) *hcl.Range {
	if r.Start.Line == 0 {
		return nil
	}
	return &r
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
