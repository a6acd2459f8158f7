package binaries

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tarball is a gzipped tar of files (name to content), in the given order,
// each 0755; a name ending in "@" is a symlink to /etc/passwd instead.
func tarball(t *testing.T, files ...[2]string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		h := &tar.Header{Name: f[0], Mode: 0o755, Size: int64(len(f[1])), Typeflag: tar.TypeReg, Uid: 1234, Gid: 1234, ModTime: time.Unix(0, 0)}
		if strings.HasSuffix(f[0], "@") {
			h = &tar.Header{Name: strings.TrimSuffix(f[0], "@"), Typeflag: tar.TypeSymlink, Linkname: "/etc/passwd"}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(f[1]))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	raw := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(raw[:])
}

// fakeCrictl prints what the real crictl prints for --version.
func fakeCrictl(version string) string {
	return "#!/bin/sh\n[ \"$1\" = --version ] && echo 'crictl version " + version + "'\n"
}

// TestInstallArchiveRuns runs the crictl install command with the real sh,
// curl, sha256sum and tar against a local server: it installs only crictl
// from the tarball (0755, owned by the caller, dated now), then does nothing while
// crictl reports the version, replaces another version, refuses a wrong
// sum, a tarball without crictl or with crictl as a symlink, and never
// leaves its temporary folder behind.
func TestInstallArchiveRuns(t *testing.T) {
	saved := ArchiveStamps
	ArchiveStamps = t.TempDir()
	t.Cleanup(func() { ArchiveStamps = saved })
	for _, tool := range []string{"sh", "curl", "sha256sum", "mktemp", "tar", "gzip"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	good, goodSum := tarball(t, [2]string{"README.md", "not me\n"}, [2]string{"crictl", fakeCrictl("v1.21.0")}, [2]string{"critest", "no\n"})
	old, oldSum := tarball(t, [2]string{"crictl", fakeCrictl("v1.20.0")})
	empty, emptySum := tarball(t, [2]string{"README.md", "no crictl\n"})
	link, linkSum := tarball(t, [2]string{"crictl@", ""})
	bodies := map[string][]byte{"/good.tar.gz": good, "/old.tar.gz": old, "/empty.tar.gz": empty, "/link.tar.gz": link}
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		if b, ok := bodies[r.URL.Path]; ok {
			w.Write(b)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	dir := t.TempDir()
	dst := filepath.Join(dir, "crictl")
	run := func(file, sum, version string) (string, error) {
		t.Helper()
		cmd, err := Install(Binary{Name: "crictl", URL: srv.URL + file, Path: dst, Member: "crictl", Version: version}, sum)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sh", "-c", cmd).CombinedOutput()
		return string(out), err
	}
	version := func() string {
		out, _ := exec.Command(dst, "--version").Output()
		return strings.TrimSpace(string(out))
	}

	// An older crictl is replaced.
	if out, err := run("/old.tar.gz", oldSum, "v1.20.0"); err != nil || !strings.Contains(out, "installed") {
		t.Fatalf("install v1.20.0: %v\n%s", err, out)
	}
	if out, err := run("/good.tar.gz", goodSum, "v1.21.0"); err != nil || !strings.Contains(out, "installed "+dst+" (v1.21.0)") {
		t.Fatalf("install v1.21.0: %v\n%s", err, out)
	}
	if v := version(); v != "crictl version v1.21.0" {
		t.Errorf("installed crictl reports %q", v)
	}
	fi, err := os.Stat(dst)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("installed file: %v %v", fi, err)
	}
	if time.Since(fi.ModTime()) > time.Hour {
		t.Errorf("installed crictl has the tarball's mtime %v, want the install time", fi.ModTime())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		t.Errorf("installed crictl owned by uid %d (the tarball's), want %d", st.Uid, os.Getuid())
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 1 {
		t.Errorf("extracted more than crictl: %v", m)
	}
	n := gets.Load()
	if out, err := run("/good.tar.gz", goodSum, "v1.21.0"); err != nil || strings.Contains(out, "installed") || gets.Load() != n {
		t.Errorf("second install downloaded again or failed: %v\n%s", err, out)
	}

	// Refused downloads leave the installed crictl alone.
	for name, tc := range map[string]struct{ file, sum, want string }{
		"wrong sum":  {"/good.tar.gz", strings.Repeat("0", 64), "want " + strings.Repeat("0", 64)},
		"no crictl":  {"/empty.tar.gz", emptySum, "crictl"},
		"symlink":    {"/link.tar.gz", linkSum, "holds no regular file crictl"},
		"HTTP error": {"/missing.tar.gz", goodSum, "404"},
	} {
		out, err := run(tc.file, tc.sum, "v1.22.0")
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("%s: %v, want an error with %q\n%s", name, err, tc.want, out)
		}
		if v := version(); v != "crictl version v1.21.0" {
			t.Errorf("%s: a failed install changed crictl to %q", name, v)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".crictl.*")); len(m) > 0 {
		t.Errorf("temporary folders left: %v", m)
	}
}
