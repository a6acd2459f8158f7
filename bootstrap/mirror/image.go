package mirror

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kprov/kprov/bootstrap/images"
)

// large is the size from which an image's bytes are shown moving.
const large = 20e6

// one copies img unless the target holds it already, and prints its line.
func (c *copier) one(ctx context.Context, img images.Image) (*Outcome, error) {
	start := time.Now()
	o, err := c.copyImage(ctx, img)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, err
	case err != nil:
		c.line("%s failed", img.Ref)
		return nil, err
	case o.Present:
		c.line("%s already there", img.Ref)
	case c.opts.DryRun:
		c.line("%s → %s would be copied (%s)", img.Ref, o.Target, FormatSize(o.Size))
	default:
		c.line("%s → %s (%s, %s)", img.Ref, o.Target, FormatSize(o.Size), seconds(time.Since(start)))
	}
	return o, nil
}

// copyImage does one's work; its errors name the image, the source and
// the target.
func (c *copier) copyImage(ctx context.Context, img images.Image) (*Outcome, error) {
	u, err := parse(img.Ref)
	if err != nil {
		return nil, err
	}
	pin := img.Digest
	if u.digest != "" {
		if pin != "" && pin != u.digest {
			return nil, fmt.Errorf("%s names digest %s, but kprov.lock.hcl pins %s", img.Ref, u.digest, pin)
		}
		pin = u.digest
	}
	dst, err := u.in(c.host+"/"+u.host, c.dst.nameOptions())
	if err != nil {
		return nil, fmt.Errorf("%s: target reference: %w", img.Ref, err)
	}
	o := &Outcome{Image: img.Ref, Target: dst.String()}
	at := func(err error) error {
		return fmt.Errorf("%s (to %s): %w", img.Ref, c.dst.scheme()+"://"+dst.String(), err)
	}

	// A pinned image already at the target needs no source: a second run
	// on the air-gapped side of a copy finishes without the internet.
	if pin != "" {
		have, err := c.targetDigest(ctx, dst)
		if err != nil {
			return nil, at(err)
		}
		if have == pin {
			o.Digest, o.Present = pin, true
			return o, nil
		}
	}
	f, err := c.fetch(ctx, u, img.Ref, pin)
	if err != nil {
		return nil, at(err)
	}
	digest := f.desc.Digest.String()
	o.Source, o.Digest = f.src.url(f.ref), digest
	from := func(err error) error {
		return fmt.Errorf("%s (from %s to %s): %w", img.Ref, o.Source, c.dst.scheme()+"://"+dst.String(), err)
	}
	if pin == "" {
		have, err := c.targetDigest(ctx, dst)
		if err != nil {
			return nil, from(err)
		}
		if have == digest {
			o.Present = true
			return o, nil
		}
	}
	if o.Size, err = size(f.desc); err != nil {
		return nil, from(fmt.Errorf("read its manifests: %w", err))
	}
	if c.opts.DryRun {
		return o, nil
	}
	if err := c.push(ctx, dst, f.desc, o.Size); err != nil {
		return nil, from(err)
	}
	have, err := c.targetDigest(ctx, dst)
	if err != nil {
		return nil, from(fmt.Errorf("check the copy: %w", err))
	}
	if have != digest {
		return nil, from(fmt.Errorf("the target holds %s after the copy, not the source's %s: does the registry rewrite manifests?", orNothing(have), digest))
	}
	return o, nil
}

// push writes desc's manifests and blobs unchanged to dst; ggcr skips
// the blobs and child manifests the target has already.
func (c *copier) push(ctx context.Context, dst name.Reference, desc *remote.Descriptor, size int64) error {
	opts := c.remoteOptions(ctx, c.dst)
	if c.out.live() && size >= large {
		updates := make(chan v1.Update, 64)
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.out.track(dst.String(), updates)
		}()
		// Push closes updates when it returns.
		err := remote.Push(dst, desc, append(opts, remote.WithProgress(updates))...)
		<-done
		return err
	}
	return remote.Push(dst, desc, opts...)
}

// targetDigest is the digest ref names at the target, "" when none.
func (c *copier) targetDigest(ctx context.Context, ref name.Reference) (string, error) {
	d, err := remote.Head(ref, c.remoteOptions(ctx, c.dst)...)
	if notFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}

// ping checks that the target answers as a registry before any image.
func (c *copier) ping(ctx context.Context) error {
	url := c.dst.scheme() + "://" + c.host + "/v2/"
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.dst.RoundTrip(req)
	var plain tls.RecordHeaderError
	if errors.As(err, &plain) {
		return fmt.Errorf("target registry %s does not speak TLS (it may serve plain HTTP: then add --plain-http): %w", url, err)
	}
	if err != nil {
		return fmt.Errorf("target registry %s does not answer: %w", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("target %s answers %s: is it a container registry (OCI distribution API)?", url, resp.Status)
	}
	return nil
}

// remoteOptions are ggcr's options for a registry reached through t.
func (c *copier) remoteOptions(ctx context.Context, t *route) []remote.Option {
	auth := remote.WithAuth(authn.Anonymous)
	if c.opts.Keychain != nil {
		auth = remote.WithAuthFromKeychain(c.opts.Keychain)
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithTransport(t), auth, remote.WithUserAgent("kprov")}
}

func orNothing(digest string) string {
	if digest == "" {
		return "nothing"
	}
	return digest
}
