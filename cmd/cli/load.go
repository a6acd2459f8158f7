package cli

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/kprov/kprov/provision/spec"
	"github.com/spf13/cobra"
)

// specFlags are the flags of every command that reads a spec.
type specFlags struct {
	vars     []string
	varFiles []string
	// errorsOnly hides the spec's warnings: commands that act on a
	// cluster already made (ssh, status, kubeconfig, down, verify) are not
	// where a user reviews the spec.
	errorsOnly bool
}

func (f *specFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.vars, "var", nil, "set a variable: -var NAME=VALUE (repeatable; beats -var-file and KPROV_VAR_NAME)")
	cmd.Flags().StringArrayVar(&f.varFiles, "var-file", nil, "read variables from an HCL file of NAME = VALUE lines (repeatable)")
}

// load reads and validates a spec, printing its diagnostics to stderr.
// An invalid spec is an exitError: the diagnostics already said why.
func (f *specFlags) load(env Env, path string) (*spec.Spec, error) {
	return f.loadWith(env, path, nil)
}

// loadWith is load with more checks of a valid spec (nil: none), whose
// diagnostics are printed with the spec's; their warnings join s.Warnings.
func (f *specFlags) loadWith(env Env, path string, more func(*spec.Spec) hcl.Diagnostics) (*spec.Spec, error) {
	l := spec.NewLoader()
	l.Vars, l.VarFiles, l.Env = f.vars, f.varFiles, env.Environ
	s, diags := l.LoadFile(path)
	if s != nil && more != nil {
		d := more(s)
		diags = append(diags, d...)
		for _, w := range d {
			if w.Severity == hcl.DiagWarning {
				s.Warnings = append(s.Warnings, w)
			}
		}
	}
	if f.errorsOnly || env.quiet() {
		var errs hcl.Diagnostics
		for _, d := range diags {
			if d.Severity == hcl.DiagError {
				errs = append(errs, d)
			}
		}
		diags = errs
	}
	if err := spec.WriteDiagnostics(env.errors(), l.Parser.Files(), diags, 100, color(env)); err != nil {
		return nil, err
	}
	if diags.HasErrors() {
		return nil, exitError{ExitError}
	}
	return s, nil
}

// color reports whether diagnostics may use ANSI colour: stderr is a
// terminal and NO_COLOR is unset.
func color(env Env) bool {
	if env.Lookup("NO_COLOR") != "" {
		return false
	}
	return terminal(env.Stderr)
}

// exactArgs is cobra.ExactArgs with a usage error that names the argument.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %s, got %d arguments", cmd.CommandPath(), names, len(args))}
		}
		return nil
	}
}

func countNodes(c *spec.Cluster) int {
	n := 0
	for _, p := range c.NodePools {
		n += *p.Count
	}
	return n
}
