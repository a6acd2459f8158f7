package virt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/digitalocean/go-libvirt"

	"github.com/kprov/kprov/provision/download"
	"github.com/kprov/kprov/provision/plan"
)

// ImageSource is the base image as kprov reads it.
type ImageSource interface {
	// Open returns the image's bytes and size.
	Open() (io.ReadCloser, uint64, error)
	// Describe names the image in messages.
	Describe() string
}

// FileImage is a base image in a local file.
type FileImage string

// Open opens the file.
func (f FileImage) Open() (io.ReadCloser, uint64, error) {
	fh, err := os.Open(string(f))
	if err != nil {
		return nil, 0, fmt.Errorf("image %s: %w", f, err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, 0, err
	}
	return fh, uint64(st.Size()), nil
}

// Describe is the path.
func (f FileImage) Describe() string { return string(f) }

// ChecksumError is an image whose sha256 is not the expected one.
type ChecksumError struct {
	What, Want, Got string
	// Hint says what to do.
	Hint string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: sha256 is %s, expected %s; %s", e.What, e.Got, e.Want, e.Hint)
}

const (
	hintSource = "the file is not the image the spec pins (re-download it, or update sha256 if you changed the image on purpose)"
	hintVolume = "the base image imported for this cluster is not the spec's image any more (the image changed, or the volume was damaged): " +
		"its nodes were built from the old one, so run `kprov down` and `kprov up` to rebuild them"
)

// hashOf streams r through sha256.
func hashOf(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sourceSum hashes the image source and checks it against the spec.
func (p *Provisioner) sourceSum() (string, uint64, error) {
	r, size, err := p.Image.Open()
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", 0, fmt.Errorf("image %s: %w", p.Image.Describe(), err)
	}
	head = head[:n]
	if err := checkFormat(p.Image.Describe(), p.Cluster.Image.Format, head); err != nil {
		return "", 0, err
	}
	sum, err := hashOf(io.MultiReader(bytes.NewReader(head), r))
	if err != nil {
		return "", 0, fmt.Errorf("image %s: %w", p.Image.Describe(), err)
	}
	if want := p.Cluster.Image.SHA256; want != "" && want != sum {
		return "", 0, &ChecksumError{What: "image " + p.Image.Describe(), Want: want, Got: sum, Hint: hintSource}
	}
	return sum, size, nil
}

// EnsureImage imports the base image once. An existing base volume is
// reused only when its content hashes to the source's sha256; otherwise
// the error names both sums (a changed or corrupted image is never used
// silently).
func (p *Provisioner) EnsureImage(ctx context.Context) (err error) {
	start := time.Now()
	sum, size, err := p.sourceSum()
	if err != nil {
		return err
	}
	p.ImageSHA256 = sum
	pool, err := p.pool()
	if err != nil {
		return err
	}
	l := p.Conn.l
	name := plan.BaseVolumeName(p.Cluster)
	vol, err := l.StorageVolLookupByName(pool, name)
	if err == nil {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(p.Conn.ReadVolume(vol, pw)) }()
		have, err := hashOf(pr)
		pr.Close()
		if err != nil {
			return wrap("read base volume "+name, err)
		}
		if have == sum {
			return nil
		}
		used, err := p.diskUses(pool)
		if err != nil {
			return err
		}
		if used != "" {
			return &ChecksumError{What: "base volume " + name + " in pool " + p.name(), Want: sum, Got: have, Hint: hintVolume}
		}
		// No node was built from it: an import cut off (libvirtd or kprov
		// killed mid-upload) is simply done again.
		p.logf("base volume %s does not match the image (sha256 %s, want %s; an import cut off?) and no node disk uses it: importing it again", name, have[:12], sum[:12])
		if err := p.mutate(func() error { return l.StorageVolDelete(vol, 0) }); err != nil {
			return wrap("delete base volume "+name, err)
		}
	} else if !notFound(err) {
		return wrap("look up base volume "+name, err)
	}
	x, err := plan.BaseVolume(p.Cluster, size).Marshal()
	if err != nil {
		return err
	}
	r, _, err := p.Image.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	var body io.Reader = r
	if p.Progress != nil {
		var done func(bool)
		body, done = download.Reader(r, p.Progress, p.Terminal, "upload "+name, int64(size))
		defer func() { done(err == nil) }()
	}
	if _, err = p.upload(pool, x, body, size); err != nil {
		if strings.Contains(err.Error(), "No space left on device") {
			return fmt.Errorf("import base image %s: %w: the image needs %d MiB in pool %s (%s); free space there or set hypervisor.storage_pool to a folder on a larger disk",
				p.Image.Describe(), err, size>>20, p.name(), p.Cluster.Hypervisor.StoragePool)
		}
		return wrap("import base image "+p.Image.Describe(), err)
	}
	if err := p.mutate(func() error { return l.StoragePoolRefresh(pool, 0) }); err != nil {
		return wrap("refresh pool "+p.name(), err)
	}
	p.logf("base image %s imported as %s (%d MiB, sha256 %s) in %s", p.Image.Describe(), name, size>>20, sum[:12], since(start))
	return nil
}

// diskUses names a node disk of the cluster in pool, if any: such a disk
// is built on the base volume.
func (p *Provisioner) diskUses(pool libvirt.StoragePool) (string, error) {
	for _, n := range p.Nodes {
		name := plan.OverlayVolumeName(n)
		_, err := p.Conn.l.StorageVolLookupByName(pool, name)
		if err == nil {
			return name, nil
		}
		if !notFound(err) {
			return "", wrap("look up volume "+name, err)
		}
	}
	return "", nil
}
