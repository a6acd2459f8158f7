package mirror

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/kprov/kprov/bootstrap/registry"
)

// upstream is an image reference cut into its parts.
type upstream struct {
	host   string // the registry host as containerd names it: docker.io, registry.k8s.io
	repo   string // the repository under host: library/pause, calico/node
	tag    string // "" when the reference names only a digest
	digest string // the digest the reference itself names, if any
}

// parse cuts image into its parts the way containerd reads it (docker.io
// for names without a registry, library/ for its official images, latest
// when neither tag nor digest is given).
func parse(image string) (upstream, error) {
	u := upstream{host: registry.ImageHost(image)}
	rest := strings.TrimPrefix(registry.AllRepository("", image), "/"+u.host+"/")
	rest, u.digest, _ = strings.Cut(rest, "@")
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest, u.tag = rest[:i], rest[i+1:]
	} else if u.digest == "" {
		u.tag = "latest"
	}
	u.repo = rest
	if _, err := u.in("example.invalid", nil); err != nil {
		return upstream{}, fmt.Errorf("image %q is not a valid reference: %w", image, err)
	}
	return u, nil
}

// in is u's reference in the repository prefix/<u.repo>, where prefix is a
// registry host[:port] with an optional path: by tag when u has one, else
// by digest.
func (u upstream) in(prefix string, opts []name.Option) (name.Reference, error) {
	base := prefix + "/" + u.repo
	if u.tag != "" {
		return name.NewTag(base+":"+u.tag, opts...)
	}
	return name.NewDigest(base+"@"+u.digest, opts...)
}

// source is one place an image can be read from.
type source struct {
	prefix string // registry host[:port] and repository prefix
	via    string // the mirror endpoint, for messages ("" for upstream)
	t      *route
}

// url names ref at s for messages: http://10.0.0.1:5000/registry.k8s.io/pause:3.9.
func (s source) url(ref name.Reference) string {
	return s.t.scheme() + "://" + ref.String()
}

// sources are where u is read from, in order: its upstream host's mirrors
// when the spec names some (then upstream with fallback), else upstream.
// Mirrors on the target itself are left out: they are what is being filled.
func (c *copier) sources(u upstream, image string) ([]source, error) {
	up, err := c.trans.get(false, "", "")
	if err != nil {
		return nil, err
	}
	upstreamSource := source{prefix: u.host, t: up}
	m := registry.For(c.opts.Sources, image)
	if m == nil {
		return []source{upstreamSource}, nil
	}
	var out []source
	for _, e := range m.Endpoints {
		p, err := url.Parse(e.URL)
		if err != nil || p.Host == "" {
			return nil, fmt.Errorf("mirror %q of %s is not a URL", e.URL, m.Name)
		}
		if strings.EqualFold(p.Host, c.host) {
			continue
		}
		prefix := p.Host
		if e.OverridePath {
			// mirror_all: BASE/v2/<upstream host> is the API prefix, so the
			// repositories are BASE's <upstream host>/<repository>.
			if path := strings.Trim(strings.TrimPrefix(strings.Trim(p.Path, "/"), "v2"), "/"); path != "" {
				prefix += "/" + path
			}
		}
		t, err := c.trans.get(e.PlainHTTP, e.CAFile, c.opts.BaseDir)
		if err != nil {
			return nil, fmt.Errorf("ca_file of mirror %s: %w", e.URL, err)
		}
		out = append(out, source{prefix: prefix, via: e.URL, t: t})
	}
	if m.Fallback || len(out) == 0 {
		out = append(out, upstreamSource)
	}
	return out, nil
}

// fetched is an image's manifest as read from one source.
type fetched struct {
	desc *remote.Descriptor
	src  source
	ref  name.Reference
}

// mismatch is a source whose tag no longer names the pinned digest.
type mismatch struct {
	image, source, pinned, got string
}

func (m mismatch) Error() string {
	return fmt.Sprintf("%s: %s now resolves to %s, but kprov.lock.hcl pins %s: refusing to copy a changed image "+
		"(fix the source, or delete the image's container_image entry in kprov.lock.hcl if the change is intended)", m.image, m.source, m.got, m.pinned)
}

// fetch reads u's manifest from the first source that has it. With pin
// it reads exactly that digest: a source whose tag resolves elsewhere is
// refused (a mismatch, not tried further), and one that lacks the tag is
// asked for the digest.
func (c *copier) fetch(ctx context.Context, u upstream, image, pin string) (fetched, error) {
	srcs, err := c.sources(u, image)
	if err != nil {
		return fetched{}, err
	}
	var failures []string
	for _, s := range srcs {
		ref, err := u.in(s.prefix, s.t.nameOptions())
		if err != nil {
			return fetched{}, err
		}
		desc, err := remote.Get(ref, c.remoteOptions(ctx, s.t)...)
		if pin != "" && err == nil && desc.Digest.String() != pin {
			return fetched{}, mismatch{image: image, source: s.url(ref), pinned: pin, got: desc.Digest.String()}
		}
		if pin != "" && u.tag != "" && notFound(err) {
			ref = ref.Context().Digest(pin)
			desc, err = remote.Get(ref, c.remoteOptions(ctx, s.t)...)
		}
		if err == nil {
			return fetched{desc: desc, src: s, ref: ref}, nil
		}
		if ctx.Err() != nil {
			return fetched{}, ctx.Err()
		}
		failures = append(failures, fmt.Sprintf("%s: %v", s.url(ref), err))
	}
	return fetched{}, fmt.Errorf("no source has %s: %s", image, strings.Join(failures, "; "))
}

// notFound reports whether err is a registry's "no such manifest".
func notFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}
