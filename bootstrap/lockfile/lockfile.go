// Package lockfile reads and writes kprov.lock.hcl, the file beside a spec
// that records the sha256 of every artifact kprov downloads and the manifest
// digest of every container image the cluster runs. It knows the file, not
// where the sums come from: bootstrap/binaries and bootstrap/phases fill it.
package lockfile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsimple"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Name is the lock file's name, next to the spec, like Terraform's
// .terraform.lock.hcl.
const Name = "kprov.lock.hcl"

// Path is the lock file of the spec at specPath.
func Path(specPath string) string { return filepath.Join(filepath.Dir(specPath), Name) }

const lockHeader = `# kprov.lock.hcl: the sha256 of every artifact kprov downloads or reads for
# the specs in this folder. Written by kprov on first use and checked on every
# run after; commit it. kprov --locked refuses anything not recorded here.

`

// Entry is one locked artifact: its kind, where it is read from, its sum.
// An artifact is identified by name and source together, so specs that
// share a folder (and the lock) but differ in versions do not collide.
type Entry struct {
	Name   string `hcl:"name,label"`
	Source string `hcl:"source"`
	SHA256 string `hcl:"sha256"`

	DefRange hcl.Range `hcl:",def_range"`
}

func (e Entry) key() string { return e.Name + "\x00" + e.Source }

// ImageEntry is one locked container image: its reference as the cluster
// names it and the manifest digest it resolved to.
type ImageEntry struct {
	Ref    string `hcl:"ref,label"`
	Digest string `hcl:"digest"`

	DefRange hcl.Range `hcl:",def_range"`
}

// imagesComment introduces the container_image blocks in the file.
const imagesComment = `# container_image: the manifest digest of every image the clusters run,
# resolved once through their mirrors or upstream; every pull is checked
# against it.
`

// Lock is the content of a lock file.
type Lock struct {
	entries map[string]Entry
	images  map[string]string // ref -> digest
}

// New returns a lock holding entries.
func New(entries ...Entry) *Lock {
	l := &Lock{entries: map[string]Entry{}, images: map[string]string{}}
	for _, e := range entries {
		l.Set(e)
	}
	return l
}

// Load reads the lock at path; a missing file is an empty lock.
func Load(path string) (*Lock, error) {
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return New(), nil
	}
	if err != nil {
		return nil, err
	}
	return Parse(path, src)
}

// Parse decodes a lock file's source; filename is used in errors.
func Parse(filename string, src []byte) (*Lock, error) {
	var f struct {
		Entries []Entry      `hcl:"artifact,block"`
		Images  []ImageEntry `hcl:"container_image,block"`
	}
	if err := hclsimple.Decode(filename, src, nil, &f); err != nil {
		return nil, fmt.Errorf("read the lock: %w", err)
	}
	l := New()
	for _, e := range f.Entries {
		if !IsSum(e.SHA256) {
			return nil, fmt.Errorf("%s: %s (%s): %q is not a lowercase hex sha256; fix or delete the entry", e.DefRange, e.Name, e.Source, e.SHA256)
		}
		if first, dup := l.entries[e.key()]; dup {
			return nil, fmt.Errorf("%s: %s (%s) is locked twice, first at %s; delete one", e.DefRange, e.Name, e.Source, first.DefRange)
		}
		l.entries[e.key()] = e
	}
	first := map[string]hcl.Range{}
	for _, e := range f.Images {
		if !imageRef.MatchString(e.Ref) {
			return nil, fmt.Errorf("%s: %q is not an image reference such as registry.k8s.io/pause:3.9; fix or delete the entry", e.DefRange, e.Ref)
		}
		if !IsDigest(e.Digest) {
			return nil, fmt.Errorf("%s: image %s: digest %q is not sha256: and 64 lowercase hex digits; fix or delete the entry", e.DefRange, e.Ref, e.Digest)
		}
		if at, dup := first[e.Ref]; dup {
			return nil, fmt.Errorf("%s: image %s is locked twice, first at %s; delete one", e.DefRange, e.Ref, at)
		}
		first[e.Ref] = e.DefRange
		l.images[e.Ref] = e.Digest
	}
	return l, nil
}

// imageRef is the characters of an image reference (host, path, tag and
// digest), which also keeps the lock's labels plain.
var imageRef = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@-]*$`)

// IsSum reports whether s is a lowercase hex sha256 digest, as the lock
// records an artifact's sum.
func IsSum(s string) bool {
	raw, err := hex.DecodeString(s)
	return err == nil && len(raw) == 32 && s == strings.ToLower(s)
}

// IsDigest reports whether s is a manifest digest as the lock records it:
// "sha256:" and 64 lowercase hex digits.
func IsDigest(s string) bool {
	sum, ok := strings.CutPrefix(s, "sha256:")
	return ok && IsSum(sum)
}

// Digest returns the digest the lock pins for the image ref.
func (l *Lock) Digest(ref string) (string, bool) {
	d, ok := l.images[ref]
	return d, ok
}

// SetDigest records the digest of the image ref, replacing its old one.
func (l *Lock) SetDigest(ref, digest string) error {
	if !IsDigest(digest) {
		return fmt.Errorf("image %s: digest %q is not sha256: and 64 lowercase hex digits", ref, digest)
	}
	if !imageRef.MatchString(ref) {
		return fmt.Errorf("image reference %q cannot be locked: it is not an image reference such as registry.k8s.io/pause:3.9", ref)
	}
	l.images[ref] = digest
	return nil
}

// Images lists the locked images sorted by reference.
func (l *Lock) Images() []ImageEntry {
	out := make([]ImageEntry, 0, len(l.images))
	for ref, d := range l.images {
		out = append(out, ImageEntry{Ref: ref, Digest: d})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref < out[j].Ref })
	return out
}

// Get returns the entry of name and source.
func (l *Lock) Get(name, source string) (Entry, bool) {
	e, ok := l.entries[Entry{Name: name, Source: source}.key()]
	return e, ok
}

// Set records e, replacing the entry of the same name and source.
func (l *Lock) Set(e Entry) {
	e.DefRange = hcl.Range{}
	l.entries[e.key()] = e
}

// Entries lists the entries sorted by name, then source.
func (l *Lock) Entries() []Entry {
	out := make([]Entry, 0, len(l.entries))
	for _, e := range l.entries {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Source < out[j].Source
	})
	return out
}

// Bytes is the lock file's text: a header, then one block per entry in
// Entries order, then one container_image block per image in Images
// order, formatted by hclwrite; the same lock gives the same bytes.
func (l *Lock) Bytes() []byte {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	entries := l.Entries()
	for i, e := range entries {
		if i > 0 {
			body.AppendNewline()
		}
		b := body.AppendNewBlock("artifact", []string{e.Name}).Body()
		b.SetAttributeValue("source", cty.StringVal(e.Source))
		b.SetAttributeValue("sha256", cty.StringVal(e.SHA256))
	}
	for i, e := range l.Images() {
		if i == 0 {
			if len(entries) > 0 {
				body.AppendNewline()
			}
			body.AppendUnstructuredTokens(hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(imagesComment)}})
		} else {
			body.AppendNewline()
		}
		body.AppendNewBlock("container_image", []string{e.Ref}).Body().
			SetAttributeValue("digest", cty.StringVal(e.Digest))
	}
	return append([]byte(lockHeader), hclwrite.Format(f.Bytes())...)
}

// Write writes the lock to path through a temporary file and a rename; it
// leaves an unchanged file alone.
func (l *Lock) Write(path string) error {
	data := l.Bytes()
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+Name+".*")
	if err != nil {
		return fmt.Errorf("write the lock: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write the lock: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write the lock: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the lock: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write the lock: %w", err)
	}
	return nil
}
