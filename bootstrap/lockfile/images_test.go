package lockfile

import (
	"path/filepath"
	"strings"
	"testing"
)

var (
	sumA    = strings.Repeat("a", 64)
	sumB    = strings.Repeat("b", 64)
	digestA = "sha256:" + sumA
	digestB = "sha256:" + sumB
)

// TestLockImages: container_image blocks follow the artifacts, sorted by
// reference, whatever the order they were set in; the file reads back to
// the same bytes.
func TestLockImages(t *testing.T) {
	l := New(Entry{Name: "kubeadm", Source: "https://dl.k8s.io/kubeadm", SHA256: sumA})
	for _, set := range [][2]string{
		{"registry.k8s.io/pause:3.9", digestA},
		{"calico/node:v3.11.3", digestB},
		{"registry.k8s.io/etcd:3.5.15-0", digestB},
		{"registry.k8s.io/pause:3.9", digestB}, // replaces
	} {
		if err := l.SetDigest(set[0], set[1]); err != nil {
			t.Fatal(err)
		}
	}
	want := lockHeader + `artifact "kubeadm" {
  source = "https://dl.k8s.io/kubeadm"
  sha256 = "` + sumA + `"
}

` + imagesComment + `container_image "calico/node:v3.11.3" {
  digest = "` + digestB + `"
}

container_image "registry.k8s.io/etcd:3.5.15-0" {
  digest = "` + digestB + `"
}

container_image "registry.k8s.io/pause:3.9" {
  digest = "` + digestB + `"
}
`
	if got := string(l.Bytes()); got != want {
		t.Errorf("lock:\n%s\nwant:\n%s", got, want)
	}
	path := filepath.Join(t.TempDir(), Name)
	if err := l.Write(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(back.Bytes()); got != want {
		t.Errorf("round trip changed the lock:\n%s", got)
	}
	if d, ok := back.Digest("registry.k8s.io/pause:3.9"); !ok || d != digestB {
		t.Errorf("Digest(pause) = %q %v", d, ok)
	}
	if d, ok := back.Digest("registry.k8s.io/pause:3.10"); ok {
		t.Errorf("Digest of an image not locked: %q", d)
	}
	if n := len(back.Images()); n != 3 {
		t.Errorf("%d images, want 3", n)
	}

	// Only images: no blank line before the comment.
	only := New()
	if err := only.SetDigest("registry.k8s.io/pause:3.9", digestA); err != nil {
		t.Fatal(err)
	}
	if got, want := string(only.Bytes()), lockHeader+imagesComment+"container_image \"registry.k8s.io/pause:3.9\" {\n  digest = \""+digestA+"\"\n}\n"; got != want {
		t.Errorf("images-only lock:\n%q\nwant\n%q", got, want)
	}
	// Without images the file is what it was before images existed.
	if strings.Contains(string(New(Entry{Name: "a", Source: "b", SHA256: sumA}).Bytes()), "container_image") {
		t.Error("a lock without images mentions them")
	}
}

func TestLockImageErrors(t *testing.T) {
	block := func(ref, digest string) string {
		return "container_image \"" + ref + "\" {\n  digest = \"" + digest + "\"\n}\n"
	}
	for name, tc := range map[string]struct{ src, want string }{
		"no prefix":  {block("registry.k8s.io/pause:3.9", sumA), `kprov.lock.hcl:1,1-44: image registry.k8s.io/pause:3.9: digest "` + sumA + `" is not sha256: and 64 lowercase hex digits`},
		"upper hex":  {block("registry.k8s.io/pause:3.9", "sha256:"+strings.ToUpper(sumA)), "is not sha256: and 64 lowercase hex digits; fix or delete the entry"},
		"short":      {block("registry.k8s.io/pause:3.9", "sha256:abc"), `digest "sha256:abc" is not`},
		"other algo": {block("registry.k8s.io/pause:3.9", "sha512:"+sumA), "is not sha256:"},
		"bad ref":    {block("registry.k8s.io/pause 3.9", digestA), `kprov.lock.hcl:1,1-44: "registry.k8s.io/pause 3.9" is not an image reference`},
		"duplicate": {block("registry.k8s.io/pause:3.9", digestA) + block("registry.k8s.io/pause:3.9", digestB),
			"kprov.lock.hcl:4,1-44: image registry.k8s.io/pause:3.9 is locked twice, first at kprov.lock.hcl:1,1-44; delete one"},
		"no digest":  {"container_image \"registry.k8s.io/pause:3.9\" {\n}\n", `The argument "digest" is required`},
		"two labels": {"container_image \"a\" \"b\" {\n  digest = \"" + digestA + "\"\n}\n", "Extraneous label"},
	} {
		_, err := Parse(Name, []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	l := New()
	for _, bad := range [][2]string{{"registry.k8s.io/pause:3.9", sumA}, {"", digestA}, {"a\"b", digestA}, {"x y", digestA}} {
		if err := l.SetDigest(bad[0], bad[1]); err == nil {
			t.Errorf("SetDigest(%q, %q) accepted", bad[0], bad[1])
		}
	}
	if len(l.Images()) != 0 {
		t.Error("a refused digest was recorded")
	}
}
