package cli_test

import (
	"os"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kprov/kprov/internal/judge"
)

// TestTunnel runs `kprov tunnel` against a real kube-apiserver that only
// SSH reaches, and a real kubectl through it (testdata/ssh/tunnel): the
// harness of TestAddonsOverSSH, kubectl in the namespace kprov runs in.
func TestTunnel(t *testing.T) {
	runSSHScripts(t, "testdata/ssh/tunnel", map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"apiserver": apiServerCmd,
		"clientns":  clientNSCmd,
		"reach":     reachCmd,
		"kubectl":   kubectlCmd,
		"waitfile":  waitFileCmd,
		"mark":      markCmd,
		"within":    withinCmd,
	})
}

// kubectl VERSION builds (once, cached) the real kubectl VERSION and sets
// $KUBECTL to its path.
func kubectlCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: kubectl VERSION")
	}
	ts.Setenv("KUBECTL", judge.Kubectl(ts.Value(scriptTB{}).(testing.TB), args[0]))
}

// waitfile PATH DURATION waits until PATH exists, for DURATION at most.
func waitFileCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitfile PATH DURATION")
	}
	d, err := time.ParseDuration(args[1])
	ts.Check(err)
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
	}
	ts.Fatalf("%s did not appear within %s", args[0], d)
}

// mark notes the time in $MARK, for within.
func markCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: mark")
	}
	ts.Setenv("MARK", time.Now().Format(time.RFC3339Nano))
}

// within DURATION fails when more than DURATION passed since mark.
func withinCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: within DURATION")
	}
	d, err := time.ParseDuration(args[0])
	ts.Check(err)
	start, err := time.Parse(time.RFC3339Nano, ts.Getenv("MARK"))
	if err != nil {
		ts.Fatalf("within: no mark before it")
	}
	if took := time.Since(start); took > d {
		ts.Fatalf("%s passed since mark, more than %s", took.Round(time.Millisecond), d)
	} else {
		ts.Logf("%s since mark", took.Round(time.Millisecond))
	}
}
