package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// format is part of every cache key: bump it when the way layers or images
// are assembled changes, so that nothing built the old way is reused.
const format = "kprov-lab-images/1"

// Image is the recipe of one container image: its upstream reference, its
// layers (bottom first) and its configuration.
type Image struct {
	Ref    string  `json:"ref"`
	Layers []Layer `json:"layers"`
	Config Config  `json:"config"`
}

// Config is the part of the image configuration a recipe sets.
type Config struct {
	Entrypoint []string          `json:"entrypoint,omitempty"`
	Cmd        []string          `json:"cmd,omitempty"`
	Env        []string          `json:"env,omitempty"`
	User       string            `json:"user,omitempty"`
	WorkingDir string            `json:"workdir,omitempty"`
	Ports      []string          `json:"ports,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
}

// Layer is one layer: either files (some of them built binaries) or a
// Debian root filesystem.
type Layer struct {
	Name   string  `json:"name"`
	Files  []File  `json:"files,omitempty"`
	Rootfs *Rootfs `json:"rootfs,omitempty"`
}

// File kinds.
const (
	Regular  = "file"
	Dir      = "dir"
	Symlink  = "symlink"
	Hardlink = "hardlink"
)

// File is one entry of a files layer. Its content is Data or the output of
// Bin; Target is a link's target (a hard link's is a path in the layer).
type File struct {
	Path   string            `json:"path"`
	Kind   string            `json:"kind"`
	Mode   int64             `json:"mode"`
	UID    int               `json:"uid,omitempty"`
	GID    int               `json:"gid,omitempty"`
	Target string            `json:"target,omitempty"`
	Data   []byte            `json:"data,omitempty"`
	Bin    *Binary           `json:"bin,omitempty"`
	Xattrs map[string][]byte `json:"xattrs,omitempty"`
}

// Binary is one program built from source.
type Binary struct {
	// Name is the output's file name (and so argv[0] of a plain build).
	Name string `json:"name"`
	// Kind is the builder: kubernetes (build.sh), kubernetes-package (a
	// package of the Kubernetes module required by a scratch module with
	// build.sh's staging replaces), module (a scratch module requiring
	// Module@Version), main (Module@Version as the main module, its go.sum
	// and replace directives applying), calico (the Calico monorepo as the
	// main module, its api/ replaced) or pause (gcc -static).
	Kind    string `json:"kind"`
	Module  string `json:"module"`
	Version string `json:"version"`
	// Package is the package to build (kubernetes: the command's name;
	// pause: the C file inside the module).
	Package string `json:"package"`
	// Flags are Go's -ldflags, or the C compiler's flags.
	Flags string `json:"flags,omitempty"`
	// Inputs fingerprint everything else the build reads: the toolchain,
	// build scripts, replaced directories.
	Inputs []string `json:"inputs,omitempty"`
	// Require are "MODULE VERSION" requirements the module builders add to
	// the scratch module, raising dependencies of Module (none: the key of
	// a binary without them is unchanged).
	Require []string `json:"require,omitempty"`
	// Patches edit a copy of the module's source for this build (the
	// main and calico builders): upstream fixes of a later release that
	// this one needs with this toolchain. None leave the key unchanged.
	Patches []SourcePatch `json:"patches,omitempty"`
}

// SourcePatch replaces Old, which must occur exactly once, with New in the
// module's file Path.
type SourcePatch struct {
	Path string `json:"path"`
	Old  string `json:"old"`
	New  string `json:"new"`
	// Why names the upstream fix.
	Why string `json:"why"`
}

// Rootfs is a Debian root filesystem: debootstrap --variant=minbase of
// Suite, then Packages installed, by the script whose sha256 is Script;
// then Groups and Users added (groupadd, useradd in the chroot). Empty
// Groups and Users leave the key of a filesystem without them unchanged.
type Rootfs struct {
	Suite    string   `json:"suite"`
	Packages []string `json:"packages"`
	Script   string   `json:"script"`
	Groups   []Group  `json:"groups,omitempty"`
	Users    []User   `json:"users,omitempty"`
}

// Group is a group added to a root filesystem.
type Group struct {
	Name string `json:"name"`
	GID  int    `json:"gid"`
}

// User is a user added to a root filesystem with its own group (GID = UID),
// a home folder under /home and /bin/sh, as busybox's `adduser -D` adds
// one, and member of Groups.
type User struct {
	Name   string   `json:"name"`
	UID    int      `json:"uid"`
	Groups []string `json:"groups,omitempty"`
}

// key is the cache key of v: the sha256 of format and v's JSON.
func key(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("recipe does not encode: %v", err)) // only plain data types above
	}
	h := sha256.New()
	h.Write([]byte(format + "\n"))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Key is the binary's cache key.
func (b Binary) Key() string { return key(b) }

// Key is the layer's cache key.
func (l Layer) Key() string { return key(l) }

// Key is the image's cache key: its layers' keys and its configuration
// (not its name: the same recipe under two names is one image).
func (i Image) Key() string {
	keys := make([]string, len(i.Layers))
	for n, l := range i.Layers {
		keys[n] = l.Key()
	}
	return key(struct {
		Layers []string `json:"layers"`
		Config Config   `json:"config"`
	}{keys, i.Config})
}

// Binaries are the distinct binaries of the image's layers, in order.
func (i Image) Binaries() []Binary {
	seen := map[string]bool{}
	var out []Binary
	for _, l := range i.Layers {
		for _, f := range l.Files {
			if f.Bin != nil && !seen[f.Bin.Key()] {
				seen[f.Bin.Key()] = true
				out = append(out, *f.Bin)
			}
		}
	}
	return out
}
