package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// tinyImage is a small image of literal files: no toolchain needed.
func tinyImage(ref, text string) Image {
	return Image{
		Ref: ref,
		Layers: []Layer{
			{Name: "base", Files: []File{
				{Path: "tmp", Kind: Dir, Mode: 0o1777},
				{Path: "etc/passwd", Kind: Regular, Mode: 0o644, Data: []byte("root:x:0:0::/:\n")},
			}},
			{Name: "app", Files: []File{
				{Path: "usr/bin/app", Kind: Regular, Mode: 0o4755, Data: []byte(text), Xattrs: map[string][]byte{"security.capability": fileCaps(10)}},
				{Path: "usr/bin/app-alias", Kind: Hardlink, Target: "usr/bin/app"},
				{Path: "bin", Kind: Symlink, Mode: 0o777, Target: "usr/bin"},
				{Path: "status.json", Kind: Regular, Mode: 0o644, UID: 999},
			}},
		},
		Config: Config{Entrypoint: []string{"/usr/bin/app"}, User: "999", Env: []string{pathEnv}, Ports: []string{"53/udp"}},
	}
}

// buildTiny builds img's layers in cache and assembles it.
func buildTiny(t *testing.T, cache string, img Image) v1.Image {
	t.Helper()
	e := NewEnv(t.TempDir(), cache, io.Discard)
	var layers []*fileLayer
	var names []string
	for _, l := range img.Layers {
		fl, err := e.Layer(l)
		if err != nil {
			t.Fatal(err)
		}
		layers, names = append(layers, fl), append(names, l.Name)
	}
	out, err := assemble(layers, names, img.Config)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSameRecipeSameDigest(t *testing.T) {
	img := tinyImage("registry.k8s.io/pause:3.9", "hello")
	a := buildTiny(t, t.TempDir(), img)
	time.Sleep(1100 * time.Millisecond) // a clock that leaked into the bytes would now differ
	b := buildTiny(t, t.TempDir(), img)
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		ma, _ := a.RawManifest()
		mb, _ := b.RawManifest()
		t.Fatalf("two builds of one recipe: %s and %s\n%s\n%s", da, db, ma, mb)
	}
	other := buildTiny(t, t.TempDir(), tinyImage("registry.k8s.io/pause:3.9", "hello!"))
	if dc, _ := other.Digest(); dc == da {
		t.Error("a changed file kept the image's digest")
	}
	cfg, err := a.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Created.Time.Equal(epoch) || cfg.Config.User != "999" || cfg.OS != "linux" || cfg.Architecture != "amd64" {
		t.Errorf("config: created %v, user %q, %s/%s", cfg.Created, cfg.Config.User, cfg.OS, cfg.Architecture)
	}
}

func TestFilesLayerEntries(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := writeFiles(tw, tinyImage("x/y:1", "hi").Layers[1].Files, nil); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	type entry struct {
		name string
		typ  byte
		mode int64
		uid  int
	}
	want := []entry{
		{"bin", tar.TypeSymlink, 0o777, 0},
		{"status.json", tar.TypeReg, 0o644, 999},
		{"usr/", tar.TypeDir, 0o755, 0},
		{"usr/bin/", tar.TypeDir, 0o755, 0},
		{"usr/bin/app", tar.TypeReg, 0o4755, 0},
		{"usr/bin/app-alias", tar.TypeLink, 0o4755, 0}, // the target's mode: containerd chmods the inode to it
	}
	tr := tar.NewReader(&buf)
	for i := 0; ; i++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if i != len(want) {
				t.Errorf("%d entries, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Fatalf("extra entry %s", h.Name)
		}
		got := entry{h.Name, h.Typeflag, h.Mode, h.Uid}
		if got != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, got, want[i])
		}
		if !h.ModTime.Equal(epoch) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, epoch)
		}
		if h.Name == "usr/bin/app" && h.PAXRecords["SCHILY.xattr.security.capability"] != string(fileCaps(10)) {
			t.Errorf("%s: file capability not kept: %q", h.Name, h.PAXRecords)
		}
	}
	if err := writeFiles(tar.NewWriter(io.Discard), []File{{Path: "a", Kind: Dir}, {Path: "/a", Kind: Dir}}, nil); err == nil {
		t.Error("a path listed twice was accepted")
	}
	if err := writeFiles(tar.NewWriter(io.Discard), []File{{Path: "../etc", Kind: Dir}}, nil); err == nil {
		t.Error("a path outside the image was accepted")
	}
}

// A root filesystem tree gives the same layer whatever its files' times.
func TestTreeLayerIgnoresTimes(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr/sbin"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "dev/pts"), 0o755))
	must(os.WriteFile(filepath.Join(root, "usr/sbin/iptables"), []byte("binary"), 0o755))
	must(os.WriteFile(filepath.Join(root, "dev/null-ish"), []byte("x"), 0o644))
	must(os.Link(filepath.Join(root, "usr/sbin/iptables"), filepath.Join(root, "usr/sbin/iptables-save")))
	must(os.Symlink("usr/sbin", filepath.Join(root, "sbin")))
	layer := func() *fileLayer {
		fl, err := writeLayer(filepath.Join(t.TempDir(), "l.tar.gz"), func(tw *tar.Writer) error { return writeTree(tw, root) })
		must(err)
		return fl
	}
	a := layer()
	later := time.Now().Add(time.Hour)
	must(os.Chtimes(filepath.Join(root, "usr/sbin/iptables"), later, later))
	must(os.Chtimes(filepath.Join(root, "usr"), later, later))
	b := layer()
	if a.meta != b.meta {
		t.Fatalf("the same tree gave %+v and %+v", a.meta, b.meta)
	}
	rc, err := a.Uncompressed()
	must(err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		must(err)
		names = append(names, h.Name)
		if h.Name == "usr/sbin/iptables-save" && (h.Typeflag != tar.TypeLink || h.Linkname != "usr/sbin/iptables") {
			t.Errorf("hard link written as %c -> %q", h.Typeflag, h.Linkname)
		}
	}
	want := "dev/ sbin usr/ usr/sbin/ usr/sbin/iptables usr/sbin/iptables-save"
	if got := join(names); got != want {
		t.Errorf("entries %q, want %q (dev's contents left out)", got, want)
	}
}

func join(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	return b.String()
}
