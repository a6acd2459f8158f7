package main

import (
	"fmt"
	"strings"
)

// Ref is an image reference split as containerd reads it.
type Ref struct {
	Host string // registry.k8s.io, docker.io
	Repo string // pause, calico/node, library/busybox
	Tag  string // 3.9
}

// ParseRef splits ref (host/repository:tag, an optional @digest dropped):
// the first path component is the host when it has a dot or a colon or is
// localhost, else the host is docker.io; Docker Hub's one-component names
// get library/ (traefik and docker.io/traefik are
// docker.io/library/traefik), as containerd and bootstrap/registry read it.
func ParseRef(ref string) (Ref, error) {
	s := ref
	if i := strings.IndexByte(s, '@'); i >= 0 {
		s = s[:i]
	}
	var r Ref
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		s, r.Tag = s[:i], s[i+1:]
	}
	if r.Tag == "" {
		return Ref{}, fmt.Errorf("image %q has no tag: the lab builds tagged images only", ref)
	}
	first, rest, ok := strings.Cut(s, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		r.Host, r.Repo = first, rest
	} else {
		r.Host, r.Repo = "docker.io", s
	}
	if r.Host == "index.docker.io" || r.Host == "registry-1.docker.io" {
		r.Host = "docker.io"
	}
	if r.Host == "docker.io" && r.Repo != "" && !strings.Contains(r.Repo, "/") {
		r.Repo = "library/" + r.Repo
	}
	if r.Repo == "" || strings.Contains(r.Repo, "//") {
		return Ref{}, fmt.Errorf("image %q has no repository", ref)
	}
	return r, nil
}

// String is the reference's canonical form, host/repository:tag.
func (r Ref) String() string { return r.Host + "/" + r.Repo + ":" + r.Tag }

// MirrorRepo is the repository of r in a mirror_all registry:
// <upstream host>/<repository> (registry.k8s.io/pause:3.9 is served at
// /v2/registry.k8s.io/pause/manifests/3.9).
func (r Ref) MirrorRepo() string { return r.Host + "/" + r.Repo }
