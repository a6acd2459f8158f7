package nodelogs

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/bootstrap/remote"
)

func archive(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return b.Bytes()
}

// Secrets are redacted by the engine's own redactor; files are 0600.
func TestUnpackRedacts(t *testing.T) {
	token := "abcdef.0123456789abcdef"
	e := remote.New(remote.Config{Secrets: []string{token}})
	dir := filepath.Join(t.TempDir(), "cp-1")
	files, err := unpack(archive(t, map[string]string{"./kubelet.log": "join with " + token + "\n", "./pods/x/0.log": "ok\n"}), dir, e.Redact)
	if err != nil || strings.Join(files, ",") != "kubelet.log,pods/x/0.log" {
		t.Fatalf("unpack: %v %v", files, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "kubelet.log"))
	if strings.Contains(string(b), token) || !strings.Contains(string(b), "[REDACTED]") {
		t.Errorf("kubelet.log: %q", b)
	}
	for _, p := range []string{filepath.Join(dir, "kubelet.log"), filepath.Join(dir, "pods", "x", "0.log")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", p, fi.Mode(), err)
		}
	}
}

// A name that leaves the folder is refused and nothing is written there.
func TestUnpackRefusesEscape(t *testing.T) {
	root := t.TempDir()
	_, err := unpack(archive(t, map[string]string{"../escaped": "x"}), filepath.Join(root, "n"), func(s string) string { return s })
	if err == nil || !strings.Contains(err.Error(), "outside its folder") {
		t.Fatalf("want a refusal, got %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "escaped")); err == nil {
		t.Error("a file was written outside the folder")
	}
}

// shell runs commands with the real sh on this machine: the gather script
// itself, not a copy of what it should do.
type shell struct{}

func (shell) Name() string { return "local" }
func (shell) Run(ctx context.Context, command string) (string, error) {
	out, err := exec.CommandContext(ctx, "sh", "-c", command).CombinedOutput()
	return string(out), err
}
func (shell) Download(_ context.Context, path string) ([]byte, error) { return os.ReadFile(path) }
func (shell) Upload(context.Context, string, []byte, fs.FileMode) error {
	return errors.New("not used")
}

func TestGatherScript(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the gather script runs as root on nodes")
	}
	dir := t.TempDir()
	files, err := Collect(context.Background(), shell{}, dir, func(s string) string { return s })
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kubelet.log", "containerd.log", "journal.log", "kernel.log", "crictl-ps.txt", "crictl-pods.txt"} {
		if _, err := os.Stat(filepath.Join(dir, want)); err != nil {
			t.Errorf("%s missing (got %v): %v", want, files, err)
		}
	}
	left, _ := filepath.Glob("/var/tmp/kprov-logs.*")
	for _, l := range left {
		if fi, err := os.Stat(l); err == nil && fi.ModTime().After(testStart) {
			t.Errorf("left on the node: %s", l)
		}
	}
}

var testStart = time.Now()
