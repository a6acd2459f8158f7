package cli_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kprov/kprov/cmd/cli"
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
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			e.Setenv("EXAMPLES", examples)
			// Faithful copies of upstream manifests (../shared/upstream).
			e.Setenv("KPROV_VAR_upstream", filepath.Join(filepath.Dir(examples), "..", "shared", "upstream"))
			e.Setenv("KPROV_STATE_DIR", filepath.Join(e.WorkDir, "state"))
			e.Setenv("NO_COLOR", "1")
			return nil
		},
	})
}
