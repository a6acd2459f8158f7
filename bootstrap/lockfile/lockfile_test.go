package lockfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLockRoundTrip: a written lock reads back to the same bytes, is
// 0644 and leaves no temporary file.
func TestLockRoundTrip(t *testing.T) {
	l := New()
	for i, name := range []string{"kubeadm", "kubelet", "kubectl"} {
		l.Set(Entry{Name: name, Source: "http://10.77.0.1:8080/release/v1.21.14/bin/linux/amd64/" + name, SHA256: strings.Repeat(string(rune('1'+i)), 64)})
	}
	path := filepath.Join(t.TempDir(), Name)
	if err := l.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(back.Bytes()), string(l.Bytes()); got != want {
		t.Errorf("round trip changed the lock:\n%s\nwant:\n%s", got, want)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("lock mode %v, want 0644", fi.Mode())
	}
	if e, ok := back.Get("kubelet", "http://10.77.0.1:8080/release/v1.21.14/bin/linux/amd64/kubelet"); !ok || !IsSum(e.SHA256) {
		t.Errorf("kubelet entry: %+v %v", e, ok)
	}
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestLockParseErrors(t *testing.T) {
	for name, tc := range map[string]struct{ src, want string }{
		"bad sum":   {"artifact \"kubeadm\" {\n source = \"u\"\n sha256 = \"ABC\"\n}\n", "kprov.lock.hcl:1,1-19: kubeadm (u): \"ABC\" is not a lowercase hex sha256"},
		"duplicate": {"artifact \"kubeadm\" {\n source = \"u\"\n sha256 = \"" + sumA + "\"\n}\nartifact \"kubeadm\" {\n source = \"u\"\n sha256 = \"" + sumB + "\"\n}\n", "locked twice, first at kprov.lock.hcl:1,1-19"},
		"no source": {"artifact \"kubeadm\" {\n sha256 = \"" + sumA + "\"\n}\n", `The argument "source" is required`},
		"unknown":   {`provider "x" {}`, `Blocks of type "provider" are not expected here`},
	} {
		_, err := Parse(Name, []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
