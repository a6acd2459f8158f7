package main

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// fileLayer is a built layer in the cache: a gzipped tar and its digests
// (kept beside it, so that nothing is hashed twice).
type fileLayer struct {
	path string
	meta layerMeta
}

// layerMeta are a built layer's digests and sizes, cached beside it.
type layerMeta struct {
	Digest  string `json:"digest"`
	DiffID  string `json:"diff_id"`
	Size    int64  `json:"size"`
	TarSize int64  `json:"tar_size"`
}

var _ v1.Layer = (*fileLayer)(nil)

// Digest is the sha256 of the compressed layer.
func (l *fileLayer) Digest() (v1.Hash, error) { return v1.NewHash(l.meta.Digest) }

// DiffID is the sha256 of the uncompressed tar.
func (l *fileLayer) DiffID() (v1.Hash, error) { return v1.NewHash(l.meta.DiffID) }

// Size is the compressed size.
func (l *fileLayer) Size() (int64, error) { return l.meta.Size, nil }

// MediaType is an OCI gzipped layer.
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

// Compressed opens the gzipped tar.
func (l *fileLayer) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }

// Uncompressed opens the tar.
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{zr, f}, nil
}

// Layer returns l built: from the cache under l's key, else built (its
// binaries or root filesystem first) and cached.
func (e *Env) Layer(l Layer) (*fileLayer, error) {
	k := l.Key()
	dir := filepath.Join(e.Cache, "layers")
	out := filepath.Join(dir, k+".tar.gz")
	meta := filepath.Join(dir, k+".json")
	if b, err := os.ReadFile(meta); err == nil {
		fl := &fileLayer{path: out}
		if json.Unmarshal(b, &fl.meta) == nil {
			if info, err := os.Stat(out); err == nil && info.Size() == fl.meta.Size {
				return fl, nil
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var fill func(*tar.Writer) error
	switch {
	case l.Rootfs != nil:
		root, done, err := e.Rootfs(*l.Rootfs)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Name, err)
		}
		defer done()
		fill = func(tw *tar.Writer) error { return writeTree(tw, root) }
	default:
		fill = func(tw *tar.Writer) error { return writeFiles(tw, l.Files, e.Binary) }
	}
	fl, err := writeLayer(out, fill)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Name, err)
	}
	b, _ := json.Marshal(fl.meta)
	if err := os.WriteFile(meta+".tmp", b, 0o644); err != nil {
		return nil, err
	}
	return fl, os.Rename(meta+".tmp", meta)
}

// writeLayer writes the tar stream fill makes, gzipped, to out (through a
// temporary file), hashing both forms on the way.
func writeLayer(out string, fill func(*tar.Writer) error) (*fileLayer, error) {
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	defer f.Close()
	zsum, tsum := sha256.New(), sha256.New()
	zcount := &counter{w: io.MultiWriter(f, zsum)}
	zw, err := gzip.NewWriterLevel(zcount, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	tcount := &counter{w: io.MultiWriter(zw, tsum)}
	tw := tar.NewWriter(tcount)
	if err := fill(tw); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, out); err != nil {
		return nil, err
	}
	return &fileLayer{path: out, meta: layerMeta{Digest: digest(zsum), DiffID: digest(tsum), Size: zcount.n, TarSize: tcount.n}}, nil
}

func digest(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// counter counts what passes through to w.
type counter struct {
	w io.Writer
	n int64
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
