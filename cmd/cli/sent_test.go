package cli_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/bootstrap/addonsrun"
)

// sentasrender DIR checks, from the judge's audit log, that every object
// kprov applied (a server-side apply by field manager kprov, dry runs
// aside) is one of `kprov render --addons --out DIR`'s objects, byte for
// byte once both are in canonical JSON, and prints "applied=N rendered=M".
func sentAsRenderCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: sentasrender DIR")
	}
	files, err := filepath.Glob(filepath.Join(ts.MkAbs(args[0]), "addons", "*.yaml"))
	ts.Check(err)
	if len(files) == 0 {
		ts.Fatalf("no addons/*.yaml under %s: run kprov render --addons first", args[0])
	}
	rendered := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		ts.Check(err)
		objs, err := addons.Decode(f, data)
		ts.Check(err)
		for _, o := range objs {
			b, err := json.Marshal(o.Object)
			ts.Check(err)
			rendered[identity(ts, b)] = canonical(ts, b)
		}
	}
	writes, err := apiOf(ts).api.Writes()
	ts.Check(err)
	applied := 0
	seen := map[string]bool{}
	for _, w := range writes {
		if w.Verb != "patch" || !strings.Contains(w.RequestURI, "fieldManager="+addonsrun.FieldManager) || strings.Contains(w.RequestURI, "dryRun=") {
			continue
		}
		id := identity(ts, w.Body)
		want, ok := rendered[id]
		if !ok {
			ts.Fatalf("kprov applied %s, which render did not write", id)
		}
		if got := canonical(ts, w.Body); got != want {
			ts.Fatalf("kprov applied %s other than render wrote it:\n--- applied\n%s\n--- rendered\n%s", id, got, want)
		}
		applied++
		seen[id] = true
	}
	var missing []string
	for id := range rendered {
		if !seen[id] && !strings.HasPrefix(id, "v1 Namespace ") {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		ts.Fatalf("render wrote objects kprov never applied: %s", strings.Join(missing, ", "))
	}
	ts.Logf("%d applies, each one of render's %d objects", applied, len(rendered))
	fmt.Fprintf(ts.Stdout(), "applied=%d rendered=%d\n", applied, len(rendered))
}

// identity is "apiVersion Kind namespace/name" of a JSON object.
func identity(ts *testscript.TestScript, body []byte) string {
	var o struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct{ Name, Namespace string }
	}
	ts.Check(json.Unmarshal(body, &o))
	return o.APIVersion + " " + o.Kind + " " + o.Metadata.Namespace + "/" + o.Metadata.Name
}

// canonical re-encodes JSON with sorted keys and no spacing.
func canonical(ts *testscript.TestScript, b []byte) string {
	var v any
	ts.Check(json.Unmarshal(b, &v))
	out, err := json.Marshal(v)
	ts.Check(err)
	return string(out)
}
