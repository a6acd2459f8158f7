package mirror

import (
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// maxDepth bounds how deep indexes may nest.
const maxDepth = 4

// size is the bytes of desc and everything it references (every platform
// of an index), each blob counted once.
func size(desc *remote.Descriptor) (int64, error) {
	seen := map[v1.Hash]bool{desc.Digest: true}
	n := desc.Size
	switch {
	case desc.MediaType.IsIndex():
		ii, err := desc.ImageIndex()
		if err != nil {
			return 0, err
		}
		m, err := indexSize(ii, seen, 0)
		return n + m, err
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return 0, err
		}
		m, err := imageSize(img, seen)
		return n + m, err
	}
	return n, nil
}

func indexSize(ii v1.ImageIndex, seen map[v1.Hash]bool, depth int) (int64, error) {
	if depth >= maxDepth {
		return 0, fmt.Errorf("indexes nest deeper than %d levels", maxDepth)
	}
	m, err := ii.IndexManifest()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, d := range m.Manifests {
		if seen[d.Digest] {
			continue
		}
		seen[d.Digest] = true
		n += d.Size
		var add int64
		switch {
		case d.MediaType.IsIndex():
			child, err := ii.ImageIndex(d.Digest)
			if err != nil {
				return 0, err
			}
			add, err = indexSize(child, seen, depth+1)
			if err != nil {
				return 0, err
			}
		case d.MediaType.IsImage():
			img, err := ii.Image(d.Digest)
			if err != nil {
				return 0, err
			}
			if add, err = imageSize(img, seen); err != nil {
				return 0, fmt.Errorf("manifest %s: %w", d.Digest, err)
			}
		}
		n += add
	}
	return n, nil
}

func imageSize(img v1.Image, seen map[v1.Hash]bool) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, d := range append([]v1.Descriptor{m.Config}, m.Layers...) {
		if !seen[d.Digest] {
			seen[d.Digest] = true
			n += d.Size
		}
	}
	return n, nil
}
