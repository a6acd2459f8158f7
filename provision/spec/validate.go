package spec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// validator collects every problem of a cluster before anything is built.
type validator struct {
	c     *Cluster
	diags hcl.Diagnostics
}

func (v *validator) validate() {
	v.versions()
	v.hypervisor()
	v.image()
	v.network()
	v.ssh()
	v.pools()
	v.kubeProxy()
	v.calico()
	v.ingress()
	v.networkPolicy()
	v.artifacts()
	v.kubeadm()
	v.registries()
	v.timeouts()
	v.oneOf(v.c.Etcd.Body, "disk_check", v.c.Etcd.DiskCheck, "enforce", "warn", "off")
}

func (v *validator) errorf(r *hcl.Range, summary, format string, args ...any) {
	v.add(hcl.DiagError, r, summary, format, args...)
}

func (v *validator) warnf(r *hcl.Range, summary, format string, args ...any) {
	v.add(hcl.DiagWarning, r, summary, format, args...)
}

func (v *validator) add(sev hcl.DiagnosticSeverity, r *hcl.Range, summary, format string, args ...any) {
	var subject *hcl.Range
	if r != nil && r.Filename != "" {
		rr := *r
		subject = &rr
	}
	v.diags = append(v.diags, &hcl.Diagnostic{Severity: sev, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: subject})
}

func (v *validator) at(body hcl.Body, name string) *hcl.Range { return v.c.At(body, name) }

// At is the range of attribute name in body (a block of c), or of the block
// itself when the attribute is absent (its value then came from a default),
// or of the cluster block when the whole block is absent: where a
// diagnostic about the attribute points.
func (c *Cluster) At(body hcl.Body, name string) *hcl.Range {
	if sb, ok := body.(*hclsyntax.Body); ok && sb != nil {
		if a, ok := sb.Attributes[name]; ok {
			return a.Expr.Range().Ptr()
		}
		return body.MissingItemRange().Ptr()
	}
	if body != nil {
		r := body.MissingItemRange()
		if r.Filename != "" {
			return &r
		}
	}
	return c.DefRange.Ptr()
}

// elem is the range of element i of a list attribute (or of a map value
// with key k when i < 0), falling back to the attribute's range.
func (v *validator) elem(body hcl.Body, name string, i int, k string) *hcl.Range {
	sb, ok := body.(*hclsyntax.Body)
	if !ok || sb == nil {
		return v.at(body, name)
	}
	a, ok := sb.Attributes[name]
	if !ok {
		return v.at(body, name)
	}
	switch e := a.Expr.(type) {
	case *hclsyntax.TupleConsExpr:
		if i >= 0 && i < len(e.Exprs) {
			return e.Exprs[i].Range().Ptr()
		}
	case *hclsyntax.ObjectConsExpr:
		for _, item := range e.Items {
			key, d := item.KeyExpr.Value(nil)
			if !d.HasErrors() && key.Type().FriendlyName() == "string" && key.AsString() == k {
				return item.KeyExpr.Range().Ptr()
			}
		}
	}
	return a.Expr.Range().Ptr()
}

// oneOf reports an error unless val is one of allowed.
func (v *validator) oneOf(body hcl.Body, attr, val string, allowed ...string) bool {
	for _, a := range allowed {
		if val == a {
			return true
		}
	}
	v.errorf(v.at(body, attr), "Invalid "+attr, "%q is not a valid %s; use one of: %s.", val, attr, quoteList(allowed))
	return false
}

func quoteList(items []string) string {
	s := ""
	for i, it := range items {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", it)
	}
	return s
}

// sizes checks memory and disk sizes before defaulting parses them.
func (v *validator) sizes() {
	for _, p := range v.c.NodePools {
		if p.Memory != "" {
			if _, err := ParseMiB(p.Memory); err != nil {
				v.errorf(v.at(p.Body, "memory"), "Invalid memory size", "Node pool %q: %v.", p.Name, err)
			}
		}
		if p.DiskSize != "" {
			if _, err := ParseMiB(p.DiskSize); err != nil {
				v.errorf(v.at(p.Body, "disk_size"), "Invalid disk size", "Node pool %q: %v.", p.Name, err)
			}
		}
	}
}

// Written reports whether the spec sets attribute name in body.
func Written(body hcl.Body, name string) bool { return written(body, name) }

func written(body hcl.Body, name string) bool {
	sb, ok := body.(*hclsyntax.Body)
	if !ok || sb == nil {
		return false
	}
	_, ok = sb.Attributes[name]
	return ok
}

// isNumber reports whether attribute name of body is written as a number
// literal (HCL turns 1.30 into the string "1.3").
func (v *validator) isNumber(body hcl.Body, name string) bool {
	sb, ok := body.(*hclsyntax.Body)
	if !ok || sb == nil {
		return false
	}
	a, ok := sb.Attributes[name]
	if !ok {
		return false
	}
	lit, ok := a.Expr.(*hclsyntax.LiteralValueExpr)
	return ok && lit.Val.Type() == cty.Number
}
