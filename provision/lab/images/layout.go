package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations of the store's index: every image is named by its upstream
// reference, and carries the key of the recipe it was built from and its
// unpacked size.
const (
	refAnnotation      = "org.opencontainers.image.ref.name"
	recipeAnnotation   = "dev.kprov.lab.recipe"
	unpackedAnnotation = "dev.kprov.lab.unpacked"
)

// openLayout opens the OCI layout at dir, creating an empty one if there is
// none.
func openLayout(dir string) (layout.Path, error) {
	if p, err := layout.FromPath(dir); err == nil {
		return p, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", fmt.Errorf("create the OCI layout %s: %w", dir, err)
	}
	return p, nil
}

// readIndex is the layout's index.json.
func readIndex(dir string) (*v1.IndexManifest, error) {
	f, err := os.Open(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return v1.ParseIndexManifest(f)
}

// blobPath is where the layout keeps blob h.
func blobPath(dir string, h v1.Hash) string { return filepath.Join(dir, "blobs", h.Algorithm, h.Hex) }

// cached is ref's descriptor in the layout at dir if it was built from the
// recipe with key and every blob it needs is there.
func cached(dir, ref, key string) (v1.Descriptor, bool) {
	idx, err := readIndex(dir)
	if err != nil {
		return v1.Descriptor{}, false
	}
	for _, d := range idx.Manifests {
		if d.Annotations[refAnnotation] != ref || d.Annotations[recipeAnnotation] != key {
			continue
		}
		blobs, err := imageBlobs(dir, d.Digest)
		if err != nil {
			return v1.Descriptor{}, false
		}
		for _, b := range blobs {
			if _, err := os.Stat(blobPath(dir, b)); err != nil {
				return v1.Descriptor{}, false
			}
		}
		return d, true
	}
	return v1.Descriptor{}, false
}

// imageBlobs are the manifest h and the blobs it names.
func imageBlobs(dir string, h v1.Hash) ([]v1.Hash, error) {
	f, err := os.Open(blobPath(dir, h))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := v1.ParseManifest(f)
	if err != nil {
		return nil, err
	}
	out := []v1.Hash{h, m.Config.Digest}
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out, nil
}

// imageSize is the bytes a pull of manifest h moves: manifest, config and
// compressed layers.
func imageSize(dir string, d v1.Descriptor) int64 {
	blobs, err := imageBlobs(dir, d.Digest)
	if err != nil {
		return 0
	}
	var n int64
	for _, b := range blobs {
		if info, err := os.Stat(blobPath(dir, b)); err == nil {
			n += info.Size()
		}
	}
	return n
}

// unpacked is the unpacked size recorded for d.
func unpacked(d v1.Descriptor) int64 {
	n, _ := strconv.ParseInt(d.Annotations[unpackedAnnotation], 10, 64)
	return n
}

// store writes img to the layout as ref (replacing what ref named) with the
// recipe key and unpacked size.
func store(p layout.Path, img v1.Image, ref, key string, unpacked int64) (v1.Descriptor, error) {
	ann := map[string]string{refAnnotation: ref, recipeAnnotation: key, unpackedAnnotation: strconv.FormatInt(unpacked, 10)}
	if err := p.ReplaceImage(img, match.Annotation(refAnnotation, ref), layout.WithAnnotations(ann)); err != nil {
		return v1.Descriptor{}, fmt.Errorf("write %s to the OCI layout %s: %w", ref, p, err)
	}
	d, ok := cached(string(p), ref, key)
	if !ok {
		return v1.Descriptor{}, fmt.Errorf("%s is not in the OCI layout %s after writing it", ref, p)
	}
	return d, nil
}

// prune drops the images whose reference keep does not hold from the index.
func prune(p layout.Path, keep map[string]bool) error {
	return p.RemoveDescriptors(func(d v1.Descriptor) bool { return !keep[d.Annotations[refAnnotation]] })
}

// gc removes the blobs no image of the index uses; it returns their count
// and size.
func gc(dir string) (int, int64, error) {
	idx, err := readIndex(dir)
	if err != nil {
		return 0, 0, err
	}
	used := map[string]bool{}
	for _, d := range idx.Manifests {
		blobs, err := imageBlobs(dir, d.Digest)
		if err != nil {
			return 0, 0, fmt.Errorf("image %s: %w", d.Annotations[refAnnotation], err)
		}
		for _, b := range blobs {
			used[b.String()] = true
		}
	}
	var n int
	var size int64
	root := filepath.Join(dir, "blobs", "sha256")
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, 0, err
	}
	for _, ent := range entries {
		if used["sha256:"+ent.Name()] || ent.IsDir() {
			continue
		}
		if info, err := ent.Info(); err == nil {
			size += info.Size()
		}
		if err := os.Remove(filepath.Join(root, ent.Name())); err != nil {
			return n, size, err
		}
		n++
	}
	return n, size, nil
}

// assemble makes the image of built layers (bottom first, each with its
// recipe's name in the history) and c: OCI media types, linux/amd64, every
// time fixed at epoch.
func assemble(layers []*fileLayer, names []string, c Config) (v1.Image, error) {
	cfg := &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config: v1.Config{
			Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, User: c.User,
			WorkingDir: c.WorkingDir, Labels: c.Labels,
		},
	}
	if len(c.Ports) > 0 {
		cfg.Config.ExposedPorts = map[string]struct{}{}
		for _, p := range c.Ports {
			cfg.Config.ExposedPorts[p] = struct{}{}
		}
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{Layer: l, MediaType: types.OCILayer,
			History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "kprov lab images: " + names[i]}}
	}
	if img, err = mutate.Append(img, adds...); err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: epoch})
}
