package spec

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// evalLocals evaluates every locals attribute, in dependency order, with
// var.* available. A local that refers to one that cannot be evaluated (a
// cycle, or a missing name) is reported at its expression.
func evalLocals(blocks hcl.Blocks, vars map[string]cty.Value) (map[string]cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	pending := map[string]*hcl.Attribute{}
	for _, b := range blocks {
		if b.Type != "locals" {
			continue
		}
		attrs, d := b.Body.JustAttributes()
		diags = append(diags, d...)
		for name, a := range attrs {
			if first, ok := pending[name]; ok {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Duplicate local value",
					Detail:  fmt.Sprintf("local.%s was already defined at %s; remove one of them.", name, first.NameRange),
					Subject: a.NameRange.Ptr(),
				})
				continue
			}
			pending[name] = a
		}
	}
	done := map[string]cty.Value{}
	for len(pending) > 0 {
		progress := false
		for _, name := range sortedKeys(pending) {
			a := pending[name]
			if !ready(a.Expr, pending) {
				continue
			}
			ctx := &hcl.EvalContext{
				Variables: map[string]cty.Value{"var": objectOf(vars), "local": objectOf(done)},
				Functions: functions(),
			}
			v, d := a.Expr.Value(ctx)
			diags = append(diags, d...)
			if d.HasErrors() {
				v = cty.DynamicVal
			}
			done[name] = v
			delete(pending, name)
			progress = true
		}
		if !progress {
			for _, name := range sortedKeys(pending) {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError, Summary: "Local value refers to itself",
					Detail:  fmt.Sprintf("local.%s depends, directly or not, on itself; break the cycle.", name),
					Subject: pending[name].Expr.Range().Ptr(),
				})
			}
			break
		}
	}
	return done, diags
}

// ready reports whether expr refers to no local still pending.
func ready(expr hcl.Expression, pending map[string]*hcl.Attribute) bool {
	for _, t := range expr.Variables() {
		if t.RootName() != "local" || len(t) < 2 {
			continue
		}
		if attr, ok := t[1].(hcl.TraverseAttr); ok {
			if _, waiting := pending[attr.Name]; waiting {
				return false
			}
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// functions are the HCL functions a spec may call.
func functions() map[string]function.Function {
	return map[string]function.Function{
		"abs": stdlib.AbsoluteFunc, "ceil": stdlib.CeilFunc, "coalesce": stdlib.CoalesceFunc,
		"concat": stdlib.ConcatFunc, "contains": stdlib.ContainsFunc, "distinct": stdlib.DistinctFunc,
		"floor": stdlib.FloorFunc, "format": stdlib.FormatFunc, "join": stdlib.JoinFunc,
		"keys": stdlib.KeysFunc, "length": stdlib.LengthFunc, "lower": stdlib.LowerFunc,
		"max": stdlib.MaxFunc, "merge": stdlib.MergeFunc, "min": stdlib.MinFunc,
		"range": stdlib.RangeFunc, "replace": stdlib.ReplaceFunc, "split": stdlib.SplitFunc,
		"substr": stdlib.SubstrFunc, "trimspace": stdlib.TrimSpaceFunc, "upper": stdlib.UpperFunc,
		"values": stdlib.ValuesFunc,
	}
}
