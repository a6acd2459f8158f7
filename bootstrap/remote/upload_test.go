package remote_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/judge"
)

// Several MB of random bytes arrive intact, root-owned, with their mode,
// through a temporary name that is gone afterwards; a second upload
// replaces the file whole.
func TestUpload(t *testing.T) {
	user := needHosts(t)
	l := newLab(t, 1, user, nil)
	n, h := l.Nodes[0], l.Hosts[0]
	ctx := ctxT(t, time.Minute)
	// A folder only root may write: the login user cannot, sudo can.
	dir := filepath.Join(h.Dir, "etc", "kprov")
	os.MkdirAll(dir, 0o700)
	path := filepath.Join(dir, "blob")
	for i, size := range []int{6<<20 + 12345, 3 << 20} {
		data := make([]byte, size)
		rand.Read(data)
		mode := []os.FileMode{0o640, 0o600}[i]
		if err := n.Upload(ctx, path, data, mode); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		out, err := n.Run(ctx, "sha256sum "+remote.Quote(path))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Fields(out)[0]; got != hex.EncodeToString(sum[:]) {
			t.Fatalf("upload %d: sha256 read back %s, want %x", i, got, sum)
		}
		back, err := n.Download(ctx, path)
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("upload %d: download read back %d bytes (%v), want the %d uploaded", i, len(back), err, size)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode || fi.Size() != int64(size) || fi.Sys().(*syscall.Stat_t).Uid != 0 {
			t.Errorf("upload %d: mode %v size %d uid %d, want %v %d root", i, fi.Mode(), fi.Size(), fi.Sys().(*syscall.Stat_t).Uid, mode, size)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("leftovers beside the upload: %v", entries)
	}
	// A folder that does not exist: an error naming node and path.
	err := n.Upload(ctx, filepath.Join(h.Dir, "missing", "f"), []byte("x"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "node node-10: upload "+h.Dir+"/missing/f") {
		t.Errorf("upload into a missing folder: %v", err)
	}
	if err := n.Upload(ctx, "relative", nil, 0o644); err == nil {
		t.Error("a relative path was accepted")
	}
	if _, err := n.Download(ctx, filepath.Join(h.Dir, "missing", "f")); err == nil || !strings.Contains(err.Error(), "download "+h.Dir+"/missing/f") {
		t.Errorf("download of a missing file: %v", err)
	}
}

// The node log has every command and its output, timestamped, in a 0600
// file in a 0700 folder, and no secret; errors are redacted too.
func TestLogRedaction(t *testing.T) {
	user := needHosts(t)
	token := "abcdef.0123456789abcdef"
	certKey := strings.Repeat("0f1e2d3c", 8)
	keyPEM, _ := judge.SSHKey(t, filepath.Join(t.TempDir(), "secret_key"))
	var echo bytes.Buffer // kprov -v
	l := newLab(t, 1, user, func(c *remote.Config) { c.Secrets = []string{token, certKey, string(keyPEM)}; c.Echo = &echo })
	n, h := l.Nodes[0], l.Hosts[0]
	ctx := ctxT(t, time.Minute)
	keyFile := filepath.Join(h.Dir, "key")
	if err := n.Upload(ctx, keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Run(ctx, "echo visible-output-42; echo joining with "+token); err != nil {
		t.Fatal(err)
	}
	if out, err := n.Run(ctx, "cat "+keyFile); err != nil || out != string(keyPEM) {
		t.Fatalf("cat key: %v", err) // output to the caller is not redacted
	}
	_, err := n.Run(ctx, "echo key "+certKey+"; for i in $(seq 1 30); do echo line $i; done; echo "+token+"; exit 4")
	var re *remote.RunError
	if !errors.As(err, &re) || re.ExitCode != 4 {
		t.Fatalf("want a RunError with exit 4, got %v", err)
	}
	msg := err.Error()
	for _, s := range []string{"node node-10", "exit code 4", "echo key [REDACTED]", "line 30", "  | [REDACTED]"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error lacks %q:\n%s", s, msg)
		}
	}
	if strings.Contains(msg, "line 10\n") {
		t.Errorf("error keeps more than the last 20 lines:\n%s", msg)
	}

	log := readLog(t, l, h.Name)
	for _, s := range []string{"$ echo visible-output-42; echo joining with [REDACTED]", "| visible-output-42",
		"| joining with [REDACTED]", "$ cat " + keyFile, "| -----BEGIN OPENSSH PRIVATE KEY-----", "| [REDACTED]",
		"exit 4 after", "upload " + keyFile, "| line 30"} {
		if !strings.Contains(log, s) {
			t.Errorf("log lacks %q", s)
		}
	}
	// -v streams the same entries, named by node, without timestamps.
	for _, s := range []string{"  node-10| $ echo visible-output-42; echo joining with [REDACTED]", "  node-10| | visible-output-42", "  node-10| | line 30"} {
		if !strings.Contains(echo.String(), s) {
			t.Errorf("echo lacks %q:\n%s", s, echo.String())
		}
	}
	secrets := []string{token, certKey, "0123456789abcdef"}
	for _, line := range strings.Split(string(keyPEM), "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") {
			secrets = append(secrets, line)
		}
	}
	for _, s := range secrets {
		if strings.Contains(log, s) || strings.Contains(msg, s) || strings.Contains(echo.String(), s) {
			t.Errorf("secret %q in the log, the echo or the error", s)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if _, err := time.Parse("2006-01-02T15:04:05.000Z", strings.Fields(line)[0]); err != nil {
			t.Errorf("log line without a timestamp: %q", line)
		}
	}
	for path, want := range map[string]os.FileMode{l.LogDir: 0o700, filepath.Join(l.LogDir, h.Name+".log"): 0o600} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v (%v)", path, fi.Mode().Perm(), want, err)
		}
	}
}

// Hostile strings reach the node's shell intact through sudo sh -c.
func TestRunQuoting(t *testing.T) {
	user := needHosts(t)
	l := newLab(t, 1, user, nil)
	ctx := ctxT(t, time.Minute)
	for _, s := range []string{"it's", `"$(touch PWNED)"`, "`touch PWNED`", "a\nb\n", `\'; touch PWNED #`, "$HOME $$"} {
		out, err := l.Nodes[0].Run(ctx, "cd "+l.Hosts[0].Dir+" && printf %s "+remote.Quote(s))
		if err != nil || out != s {
			t.Errorf("%q came back %q (%v)", s, out, err)
		}
	}
	if _, err := os.Stat(filepath.Join(l.Hosts[0].Dir, "PWNED")); err == nil {
		t.Error("a quoted string ran a command")
	}
}
