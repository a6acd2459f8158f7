// Package seed builds a node's cloud-init NoCloud seed: an ISO9660 image
// labelled cidata holding meta-data, user-data and network-config at its
// root, with Rock Ridge and Joliet names so Linux sees them as written.
// The image is built in Go with github.com/diskfs/go-diskfs and is
// byte-for-byte deterministic. It holds the node's SSH host private key:
// treat it as a secret.
package seed

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/iso9660"

	"github.com/kprov/kprov/provision/cloudinit"
)

// Label is the volume identifier NoCloud looks for.
const Label = "cidata"

// blockSize is the ISO9660 logical block size.
const blockSize = 2048

// ISO returns the NoCloud seed image of s. go-diskfs builds images from a
// directory tree on disk, so ISO writes s to a private temporary directory
// (0700, files 0600) and removes it before returning.
func ISO(s cloudinit.Seed) ([]byte, error) {
	return build(s, Label)
}

// build is ISO with any volume label, so tests can make a wrong one.
func build(s cloudinit.Seed, label string) (img []byte, err error) {
	dir, err := os.MkdirTemp("", "kprov-seed-")
	if err != nil {
		return nil, fmt.Errorf("seed: create temporary directory: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil && err == nil {
			err = fmt.Errorf("seed: remove temporary directory: %w", rerr)
		}
	}()

	root := filepath.Join(dir, "root")
	if err := os.Mkdir(root, 0o700); err != nil {
		return nil, fmt.Errorf("seed: create workspace: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{cloudinit.MetaDataFile, s.MetaData},
		{cloudinit.UserDataFile, s.UserData},
		{cloudinit.NetworkConfigFile, s.NetworkConfig},
	} {
		if err := os.WriteFile(filepath.Join(root, f.name), f.data, 0o600); err != nil {
			return nil, fmt.Errorf("seed: write %s: %w", f.name, err)
		}
	}

	out, err := os.OpenFile(filepath.Join(dir, "seed.iso"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("seed: create image file: %w", err)
	}
	defer out.Close()

	fs, err := iso9660.Create(file.New(out, false), 0, 0, blockSize, root)
	if err != nil {
		return nil, fmt.Errorf("seed: create iso9660 filesystem: %w", err)
	}
	err = fs.Finalize(iso9660.FinalizeOptions{
		RockRidge:        true,
		Joliet:           true,
		VolumeIdentifier: label,
	})
	if err != nil {
		return nil, fmt.Errorf("seed: write iso9660 filesystem: %w", err)
	}

	if _, err := out.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seed: read image: %w", err)
	}
	if img, err = io.ReadAll(out); err != nil {
		return nil, fmt.Errorf("seed: read image: %w", err)
	}
	if img, err = normalize(img); err != nil {
		return nil, fmt.Errorf("seed: fix timestamps and owners: %w", err)
	}
	return img, nil
}
