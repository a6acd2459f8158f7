package main

import (
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The install-cni patch applies to the real Calico source, and what it
// makes of the kubeconfig's server line parses with this toolchain for an
// IPv4 Service address (upstream's did not) and keeps IPv6's brackets.
func TestCNIKubeconfigServerPatch(t *testing.T) {
	src := calicoDir(t)
	copy, err := patchedCopy(src, t.TempDir(), []SourcePatch{cniKubeconfigServer})
	if err != nil {
		t.Fatal(err)
	}
	patched, err := os.ReadFile(filepath.Join(copy, cniKubeconfigServer.Path))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(copy, "go.mod")); err != nil || !strings.Contains(string(b), "module github.com/projectcalico/calico") {
		t.Fatalf("the copy lacks the module's go.mod: %v", err)
	}
	if !strings.Contains(string(patched), cniKubeconfigServer.New) || strings.Contains(string(patched), cniKubeconfigServer.Old) {
		t.Fatal("the patched file lacks the fix or keeps the old line")
	}
	// The template's server line, from upstream's file.
	var line string
	for _, l := range strings.Split(string(patched), "\n") {
		if strings.Contains(l, "server: __KUBERNETES_SERVICE_PROTOCOL__") {
			line = strings.TrimSpace(l)
		}
	}
	if line == "" {
		t.Fatal("no server line in install.go's kubeconfig template")
	}
	dir := t.TempDir()
	prog := "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"strings\"\n)\n\n" +
		"func getEnv(k, d string) string {\n\tif v := os.Getenv(k); v != \"\" {\n\t\treturn v\n\t}\n\treturn d\n}\n\n" +
		"func main() {\n\tdata := " + "`" + line + "`\n\tdata = strings.Replace(data, \"__KUBERNETES_SERVICE_PROTOCOL__\", \"https\", -1)\n\t" +
		cniKubeconfigServer.New + "\n\tdata = strings.Replace(data, \"__KUBERNETES_SERVICE_PORT__\", \"443\", -1)\n\tfmt.Print(strings.TrimPrefix(data, \"server: \"))\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"10.96.0.1": "https://10.96.0.1:443", "fd00:10:96::1": "https://[fd00:10:96::1]:443"} {
		cmd := exec.Command("go", "run", "main.go")
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "KUBERNETES_SERVICE_HOST="+host, "GOFLAGS=", "GO111MODULE=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if string(out) != want {
			t.Errorf("server for %s: %q, want %q", host, out, want)
		}
		if _, err := url.Parse(string(out)); err != nil {
			t.Errorf("server for %s does not parse: %v", host, err)
		}
	}
}

// A patch whose text is not in the file exactly once is refused, saying
// what to do; no copy is left behind.
func TestPatchedCopyRefuses(t *testing.T) {
	src, out := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(src, "a.go"), []byte("x := 1\nx := 1\ny := 2\n"), 0o644)
	for name, p := range map[string][]SourcePatch{
		"twice":   {{Path: "a.go", Old: "x := 1", New: "x := 3"}},
		"absent":  {{Path: "a.go", Old: "z := 1", New: "z := 3"}},
		"no file": {{Path: "b.go", Old: "y := 2", New: "y := 3"}},
		"two of one file": {{Path: "a.go", Old: "y := 2", New: "y := 3"},
			{Path: "a.go", Old: "y := 2", New: "y := 4"}},
	} {
		if _, err := patchedCopy(src, out, p); err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "no file" && !strings.Contains(err.Error(), "patch") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
