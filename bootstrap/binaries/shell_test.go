package binaries

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kprov/kprov/bootstrap/remote"

	"github.com/kprov/kprov/internal/golden"
)

// hostile are values a spec could carry into a shell command.
var hostile = []string{
	"", "plain", "with space", "it's", "'", "''", `"double"`, `back\slash`, "$HOME", "${HOME}",
	"$(touch /tmp/kprov-pwned)", "`touch /tmp/kprov-pwned`", "a;b", "a&&b", "a|b", "a>b", "<a",
	"*", "?", "[a]", "~", "~root", "#comment", "new\nline", "tab\tx", "!bang", "x=1", "-n",
	"http://m:8080/p?a=1&b='2'#f", "é ü 日本", "\x01\x7f",
}

func TestQuoteThroughShells(t *testing.T) {
	for _, sh := range []string{"sh", "bash", "dash"} {
		if _, err := exec.LookPath(sh); err != nil {
			continue
		}
		for _, s := range hostile {
			// Quoted in command position too: x=1 must not become an assignment.
			out, err := exec.Command(sh, "-c", "printf %s "+remote.Quote(s)+"; "+remote.Quote("printf")+" %s "+remote.Quote(s)).Output()
			if err != nil {
				t.Fatalf("%s: %q quoted as %s: %v", sh, s, remote.Quote(s), err)
			}
			if string(out) != s+s {
				t.Errorf("%s: %q quoted as %s reads back as %q", sh, s, remote.Quote(s), out)
			}
		}
	}
	if _, err := os.Stat("/tmp/kprov-pwned"); err == nil {
		t.Error("a quoted value ran a command")
	}
}

func TestInstallGolden(t *testing.T) {
	c := loadLab(t)
	cmds, err := Commands(c, []Pin{
		{Name: "kubeadm", Source: Sources(c)[0].URL, SHA256: strings.Repeat("a", 64)},
		{Name: "kubelet", Source: Sources(c)[1].URL, SHA256: strings.Repeat("b", 64)},
		{Name: "kubectl", Source: Sources(c)[2].URL, SHA256: strings.Repeat("c", 64)},
		{Name: "crictl", Source: Sources(c)[3].URL, SHA256: strings.Repeat("d", 64)},
	})
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, "install-lab.sh", []byte(strings.Join(cmds, "\n")))
	if _, err := Commands(c, nil); err == nil || !strings.Contains(err.Error(), "kubeadm") {
		t.Errorf("Commands without sums: %v, want an error naming kubeadm", err)
	}
}

func TestInstallRefuses(t *testing.T) {
	b := Binary{Name: "kubeadm", URL: "http://m/kubeadm", Path: "/usr/local/bin/kubeadm"}
	for name, tc := range map[string]struct {
		b   Binary
		sum string
	}{
		"short sum":               {b, "abc"},
		"uppercase sum":           {b, strings.Repeat("A", 64)},
		"NUL in URL":              {Binary{Name: "kubeadm", URL: "http://m/\x00", Path: b.Path}, strings.Repeat("a", 64)},
		"relative path":           {Binary{Name: "kubeadm", URL: b.URL, Path: "kubeadm"}, strings.Repeat("a", 64)},
		"archive without version": {Binary{Name: "crictl", URL: "http://m/c.tar.gz", Path: "/usr/local/bin/crictl", Member: "crictl"}, strings.Repeat("a", 64)},
		"member with a path":      {Binary{Name: "crictl", URL: "http://m/c.tar.gz", Path: "/usr/local/bin/crictl", Member: "../crictl", Version: "v1.21.0"}, strings.Repeat("a", 64)},
		"member as an option":     {Binary{Name: "crictl", URL: "http://m/c.tar.gz", Path: "/usr/local/bin/crictl", Member: "--to-command=id", Version: "v1.21.0"}, strings.Repeat("a", 64)},
	} {
		if _, err := Install(tc.b, tc.sum); err == nil {
			t.Errorf("%s: Install succeeded", name)
		}
	}
}

// TestInstallRuns runs the install command with the real sh, curl and
// sha256sum against a local server: it installs, then does nothing, never
// leaves a partial or unverified file, and reads a hostile URL as data.
func TestInstallRuns(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "sha256sum", "mktemp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	content := []byte("#!/bin/sh\necho fake kubeadm\n")
	raw := sha256.Sum256(content)
	sum := hex.EncodeToString(raw[:])
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if strings.HasPrefix(r.URL.Path, "/ok/") {
			w.Write(content)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	saved := BinaryStamps
	BinaryStamps = t.TempDir()
	t.Cleanup(func() { BinaryStamps = saved })
	dst := filepath.Join(dir, "kubeadm")
	run := func(url, sum string) (string, error) {
		t.Helper()
		cmd, err := Install(Binary{Name: "kubeadm", URL: url, Path: dst}, sum)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
		return string(out), err
	}
	leftovers := func() {
		t.Helper()
		if m, _ := filepath.Glob(filepath.Join(dir, ".kubeadm.*")); len(m) > 0 {
			t.Errorf("temporary files left: %v", m)
		}
	}

	// A hostile URL is fetched as a path, never run.
	hostileURL := srv.URL + "/ok/$(touch%20" + dir + "/pwned)';`id`"
	if out, err := run(hostileURL, sum); err != nil || !strings.Contains(out, "installed") {
		t.Fatalf("first install: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Error("the URL ran a command")
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("installed file: %v %v", fi, err)
	}
	n := gets.Load()
	if out, err := run(hostileURL, sum); err != nil || !strings.Contains(out, "has sha256") || gets.Load() != n {
		t.Errorf("second install downloaded again or failed: %v\n%s", err, out)
	}
	// The stamp spares the hash, but never hides a changed file: one
	// rewritten in place (same size, new content) is downloaded again.
	if st, err := os.ReadFile(filepath.Join(BinaryStamps, "kubeadm")); err != nil || !strings.HasPrefix(string(st), sum+" ") {
		t.Errorf("stamp after install: %q %v", st, err)
	}
	tampered := []byte(strings.Replace(string(content), "fake", "evil", 1))
	if err := os.WriteFile(dst, tampered, 0o755); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	os.Chtimes(dst, later, later)
	if out, err := run(hostileURL, sum); err != nil || !strings.Contains(out, "installed") || gets.Load() != n+1 {
		t.Errorf("a changed file was taken for installed: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(dst); string(got) != string(content) {
		t.Error("the changed file was not replaced")
	}
	// A lost stamp costs one hash, and is written again.
	os.Remove(filepath.Join(BinaryStamps, "kubeadm"))
	if out, err := run(hostileURL, sum); err != nil || !strings.Contains(out, "has sha256") || gets.Load() != n+1 {
		t.Errorf("without a stamp: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(BinaryStamps, "kubeadm")); err != nil {
		t.Errorf("stamp not written again: %v", err)
	}

	// A wrong sum: the download is refused and the installed file stays.
	wrong := strings.Repeat("0", 64)
	if out, err := run(srv.URL+"/ok/kubeadm", wrong); err == nil || !strings.Contains(out, "want "+wrong) {
		t.Errorf("wrong sum: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(dst); string(got) != string(content) {
		t.Error("a failed install touched the installed file")
	}
	// An HTTP error fails the command (curl --fail), with nothing installed.
	os.Remove(dst)
	if out, err := run(srv.URL+"/missing/kubeadm", sum); err == nil || !strings.Contains(out, "404") {
		t.Errorf("404: %v\n%s", err, out)
	}
	if _, err := os.Stat(dst); err == nil {
		t.Error("a failed download installed a file")
	}
	leftovers()
}
