// Package registry plans where containerd pulls images from: the mirrors of
// each upstream registry host (containerd's hosts.toml model, so image names
// stay the upstream ones), and containerd's configuration files on a node.
// It is pure: file contents come in, files go out.
package registry

import (
	"fmt"
	"sort"
	"strings"

	"github.com/kprov/kprov/provision/spec"
)

// DockerHub is the host name image references without a registry mean, as
// containerd spells it (its hosts folder is certs.d/docker.io).
const DockerHub = "docker.io"

// WellKnown are the upstream hosts Kubernetes images commonly come from; a
// mirror_all covers them even when the cluster's own images name none.
var WellKnown = []string{"docker.io", "ghcr.io", "k8s.gcr.io", "quay.io", "registry.k8s.io"}

// Endpoint is one mirror of an upstream host.
type Endpoint struct {
	// URL is what containerd's [host."URL"] names: a registry root
	// (scheme://host[:port]), or with OverridePath the full API prefix of
	// the upstream's repositories (mirror_all: BASE/v2/<upstream host>).
	URL          string
	OverridePath bool
	PlainHTTP    bool
	// CAFile is the spec's ca_file (as written; relative to the spec).
	CAFile string
}

// Upstream is an upstream registry and its mirrors, tried in order.
type Upstream struct {
	// Name is the registry's host as image references spell it
	// (registry.k8s.io, docker.io, registry.example:5000).
	Name      string
	Endpoints []Endpoint
	// Fallback: containerd tries the upstream itself after the mirrors.
	Fallback bool
}

// Server is the upstream's own registry URL, as containerd's hosts.toml
// `server` names it.
func (u Upstream) Server() string {
	if u.Name == DockerHub {
		return "https://registry-1.docker.io"
	}
	return "https://" + u.Name
}

// Upstreams are the mirrored upstream hosts of c: every host with a mirror
// block, and with mirror_all also the well-known hosts and every host of
// images; sorted by name. Nil when c names no mirror.
func Upstreams(c *spec.Cluster, images []string) []Upstream {
	r := c.Registries
	if r == nil {
		return nil
	}
	byName := map[string]Upstream{}
	if r.MirrorAll != "" {
		names := append([]string{}, WellKnown...)
		for _, img := range images {
			names = append(names, ImageHost(img))
		}
		for _, h := range names {
			byName[h] = Upstream{Name: h, Fallback: r.Fallback, Endpoints: []Endpoint{{
				URL:          AllPrefix(r.MirrorAll, h),
				OverridePath: true,
				PlainHTTP:    r.PlainHTTP,
				CAFile:       r.CAFile,
			}}}
		}
	}
	for _, m := range r.Mirrors {
		u := Upstream{Name: m.Registry, Fallback: r.Fallback}
		if m.Fallback != nil {
			u.Fallback = *m.Fallback
		}
		for _, e := range m.Endpoints {
			u.Endpoints = append(u.Endpoints, Endpoint{URL: strings.TrimSuffix(e, "/"), PlainHTTP: m.PlainHTTP, CAFile: m.CAFile})
		}
		byName[m.Registry] = u
	}
	out := make([]Upstream, 0, len(byName))
	for _, u := range byName {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// For is the mirrors of the upstream host of image (nil when it has none).
func For(upstreams []Upstream, image string) *Upstream {
	name := ImageHost(image)
	for i := range upstreams {
		if upstreams[i].Name == name {
			return &upstreams[i]
		}
	}
	return nil
}

// AllPrefix is the API prefix of upstream host's repositories in a
// mirror_all registry: BASE/v2/<host>.
func AllPrefix(base, host string) string {
	return strings.TrimSuffix(base, "/") + "/v2/" + host
}

// AllRepository is where `kprov mirror --to REGISTRY` puts image: the
// upstream reference with REGISTRY/<upstream host>/ in front
// (registry.k8s.io/pause:3.9 -> REGISTRY/registry.k8s.io/pause:3.9).
func AllRepository(registry, image string) string {
	host, rest := split(image)
	return strings.TrimSuffix(registry, "/") + "/" + host + "/" + rest
}

// ImageHost is the registry host of an image reference as containerd reads
// it: the first path component when it looks like a host (has a dot or a
// colon, or is localhost), else docker.io.
func ImageHost(image string) string {
	h, _ := split(image)
	return h
}

// split cuts image into its registry host and the rest (repository path,
// tag or digest), adding library/ for docker.io's official images.
func split(image string) (host, rest string) {
	first, after, found := strings.Cut(image, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		host, rest = first, after
	} else {
		host, rest = DockerHub, image
	}
	if host == "index.docker.io" || host == "registry-1.docker.io" {
		host = DockerHub
	}
	if host == DockerHub && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	return host, rest
}

// Describe names the mirrors of u for messages: "http://10.77.0.1:5000/v2/registry.k8s.io".
func (u Upstream) Describe() string {
	urls := make([]string, len(u.Endpoints))
	for i, e := range u.Endpoints {
		urls[i] = e.URL
	}
	s := strings.Join(urls, ", ")
	if u.Fallback {
		s += fmt.Sprintf(" (then %s)", u.Server())
	}
	return s
}

// Normalize spells image the way containerd records it: with its registry
// host, and library/ for Docker Hub's official images
// (calico/node:v3.28.5 -> docker.io/calico/node:v3.28.5).
func Normalize(image string) string {
	host, rest := split(image)
	return host + "/" + rest
}

// Probe is the URL that answers when endpoint e is reachable: the
// registry's API root (/v2/), which every registry serves.
func (e Endpoint) Probe() string {
	if e.OverridePath {
		if i := strings.Index(e.URL, "/v2/"); i >= 0 {
			return e.URL[:i] + "/v2/"
		}
	}
	return e.URL + "/v2/"
}
