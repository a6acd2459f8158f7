// Package cli holds kprov's commands. Commands take their streams and
// environment from an Env, never from package globals, so tests run them
// in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

// Env is what a command may touch of the outside world.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Environ is the process environment, KEY=VALUE.
	Environ []string
	// global holds the root's -q and -v once parsed; newRoot sets it.
	global *globalFlags
}

// globalFlags are the flags of every command.
type globalFlags struct {
	quiet, verbose bool
}

// Verbose is where node command output streams with -v, else nil.
func (e Env) Verbose() io.Writer {
	if e.global != nil && e.global.verbose {
		return e.Stderr
	}
	return nil
}

// mute drops what is written while on is set: -q keeps progress off
// stderr; errors are printed by Run on the real stderr.
type mute struct {
	w  io.Writer
	on *bool
}

// errors is stderr for errors: never muted.
func (e Env) errors() io.Writer {
	if m, ok := e.Stderr.(mute); ok {
		return m.w
	}
	return e.Stderr
}

// quiet reports -q.
func (e Env) quiet() bool { return e.global != nil && e.global.quiet }

func (m mute) Write(p []byte) (int, error) {
	if *m.on {
		return len(p), nil
	}
	return m.w.Write(p)
}

// OS is the Env of the running process.
func OS() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()}
}

// Lookup returns an environment variable of e.
func (e Env) Lookup(key string) string {
	for i := len(e.Environ) - 1; i >= 0; i-- {
		if k, v, ok := cut(e.Environ[i], '='); ok && k == key {
			return v
		}
	}
	return ""
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1 // the command ran and failed (invalid spec, failed step)
	ExitUsage = 2 // the command line was wrong
)

// exitError carries an exit code for an error already shown to the user.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// Run runs kprov with args and returns the process exit code. The first
// SIGINT or SIGTERM cancels the command's context so it can stop cleanly.
func Run(args []string, env Env) int {
	// client-go logs retries and slow responses through klog ("E1130 ...
	// request.go:1196 Unexpected error when reading response body"); kprov
	// reports what matters in its own words.
	klog.SetLogger(logr.Discard())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// Once interrupted, kprov keeps catching signals until the process
	// exits: a second SIGINT (a terminal sends one to the whole process
	// group, timeout(1) forwards its own) must not kill it by the default
	// action between a clean stop and exit.
	defer func() {
		if ctx.Err() == nil {
			stop()
		}
	}()
	root := newRoot(env)
	root.SetArgs(terraformFlags(args))
	err := root.ExecuteContext(ctx)
	var ee exitError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	default:
		fmt.Fprintf(env.Stderr, "kprov: %v\n", err)
		// cobra's own "unknown command" error has no type of its own.
		if isUsage(err) || strings.HasPrefix(err.Error(), "unknown command ") {
			fmt.Fprintln(env.Stderr, "Run 'kprov --help' for usage.")
			return ExitUsage
		}
		return ExitError
	}
}

// usageError marks a wrong command line.
type usageError struct{ error }

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func newRoot(env Env) *cobra.Command {
	g := &globalFlags{}
	env.global = g
	env.Stderr = mute{w: env.Stderr, on: &g.quiet}
	root := &cobra.Command{
		Use:   "kprov",
		Short: "Turn one HCL file into a Kubernetes cluster on KVM hosts",
		Long: "kprov builds Kubernetes clusters on libvirt/KVM from one HCL spec: it plans every\n" +
			"libvirt object, cloud-init seed and kubeadm configuration before touching a host.\n\n" +
			"Exit codes: 0 success; 1 the command ran and failed (an invalid spec, a failed\n" +
			"phase, a failed check); 2 the command line was wrong.",
		Version:           versionString(),
		SilenceUsage:      true,
		SilenceErrors:     true,
		CompletionOptions: cobra.CompletionOptions{HiddenDefaultCmd: false},
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if g.quiet && g.verbose {
				return usageError{errors.New("-q and -v together: choose one")}
			}
			return nil
		},
	}
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "print only errors (and what the command is asked to print on stdout)")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "also stream every command kprov runs on the nodes, and its output (redacted)")
	root.SetVersionTemplate("kprov {{.Version}}\n")
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newValidate(env),
		newRender(env),
		newImages(env),
		newMirror(env),
		newPlan(env),
		newUp(env),
		newStatus(env),
		newDown(env),
		newSSH(env),
		newKubeconfig(env),
		newTunnel(env),
		newLogs(env),
		newBackup(env),
		newRestore(env),
		newVerify(env),
		newVersion(env),
	)
	return root
}

// terraformFlags accepts -var and -var-file with one dash, as Terraform and
// Packer users type them, by rewriting them to pflag's --var and --var-file.
func terraformFlags(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "--" {
			copy(out[i:], args[i:])
			break
		}
		name, _, _ := cut(a, '=')
		if name == "-var" || name == "-var-file" {
			a = "-" + a
		}
		out[i] = a
	}
	return out
}
