package judge

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Where a clone has no ../shared: a folder is checked against the pins,
// a missing file is fetched from its pinned URL and cached only when its
// sum matches, and what cannot be provided says how to provide it.
func TestEnsureUpstream(t *testing.T) {
	body := "kind: DaemonSet\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/good.yaml":
			w.Write([]byte(body))
		case "/changed.yaml":
			w.Write([]byte("kind: Deployment\n"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	files := map[string]upstreamFile{
		"a/good.yaml":    {sum([]byte(body)), srv.URL + "/good.yaml"},
		"a/changed.yaml": {sum([]byte(body)), srv.URL + "/changed.yaml"},
		"a/gone.yaml":    {sum([]byte(body)), srv.URL + "/gone.yaml"},
		"a/extract.yaml": {sum([]byte(body)), ""},
	}
	dir := t.TempDir()
	check := func(rel string, fetch bool, want string) {
		t.Helper()
		err := ensureUpstream(srv.Client(), dir, rel, files, fetch)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", rel, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: err = %v, want one saying %q", rel, err, want)
		}
	}
	check("a/good.yaml", false, "KPROV_UPSTREAM")
	check("a/good.yaml", true, "")
	if b, _ := os.ReadFile(filepath.Join(dir, "a", "good.yaml")); string(b) != body {
		t.Errorf("cached copy %q", b)
	}
	check("a/good.yaml", false, "") // now from the folder
	check("a/changed.yaml", true, "upstream changed under its pinned commit")
	if _, err := os.Stat(filepath.Join(dir, "a", "changed.yaml")); err == nil {
		t.Error("a file whose sum does not match was cached")
	}
	check("a/gone.yaml", true, "404")
	check("a/extract.yaml", true, "no URL serves it")
	check("a/unknown.yaml", true, "not in internal/judge's table")
	os.WriteFile(filepath.Join(dir, "a", "good.yaml"), []byte("edited\n"), 0o644)
	check("a/good.yaml", true, "not the faithful copy")
}

// The table's sums are the shared folder's, when it is there.
func TestUpstreamTableMatchesShared(t *testing.T) {
	shared := filepath.Join(RepoRoot(t), "..", "shared", "upstream")
	sums, err := os.ReadFile(filepath.Join(shared, "SHA256SUMS"))
	if err != nil {
		t.Skipf("no ../shared/upstream beside this clone: %v", err)
	}
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		s, rel, _ := strings.Cut(line, "  ")
		listed[rel] = s
	}
	for rel, f := range upstreamFiles {
		if listed[rel] != f.sha256 {
			t.Errorf("%s: table says %s, SHA256SUMS %q", rel, f.sha256, listed[rel])
		}
	}
	for rel := range listed {
		if _, ok := upstreamFiles[rel]; !ok {
			t.Errorf("%s is in SHA256SUMS but not in the table", rel)
		}
	}
}
