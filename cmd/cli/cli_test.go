package cli_test

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/kprov/kprov/cmd/cli"
	"github.com/kprov/kprov/internal/judge"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kprov": func() { os.Exit(cli.Run(os.Args[1:], cli.OS())) },
	})
}

// TestScripts runs the .txtar scripts in testdata/script: exit codes,
// messages and files, as a user sees them. $EXAMPLES is the repo's
// examples folder.
func TestScripts(t *testing.T) {
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	upstream := judge.UpstreamDir(t, judge.UpstreamManifests...)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("EXAMPLES", examples)
			// Faithful copies of upstream manifests (../shared/upstream).
			e.Setenv("KPROV_VAR_upstream", upstream)
			e.Setenv("KPROV_STATE_DIR", filepath.Join(e.WorkDir, "state"))
			e.Setenv("NO_COLOR", "1")
			// No libvirtd answers here: plan shows everything as new on
			// any machine (the lab tests read a real one).
			e.Setenv("LIBVIRT_DEFAULT_URI", "qemu:///system?socket="+filepath.Join(e.WorkDir, "no-libvirtd.sock"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){"silent": silent},
	})
}

// silent NAME [unix]: a listener that accepts connections and never says
// a word (a hung daemon, or a port that is not SSH), on loopback or a unix
// socket in $WORK; NAME is set to its port or path.
func silent(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: silent NAME [unix]")
	}
	network, addr := "tcp", "127.0.0.1:0"
	if len(args) == 2 && args[1] == "unix" {
		network, addr = "unix", ts.MkAbs("silent.sock")
	}
	l, err := net.Listen(network, addr)
	ts.Check(err)
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	ts.Defer(func() {
		l.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	if network == "tcp" {
		ts.Setenv(args[0], strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	} else {
		ts.Setenv(args[0], addr)
	}
}
