package binaries

import (
	"context"
	"fmt"
	"strings"

	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/provision/spec"
)

// Origin says where an expected sha256 came from.
type Origin string

// The origins of a sum, strongest first.
const (
	FromSpec      Origin = "spec"      // a sha256 attribute of the spec
	FromLock      Origin = "lock"      // kprov.lock.hcl
	FromPublished Origin = "published" // the source's published .sha256
	FromContent   Origin = "content"   // the caller hashed the file itself
)

// Pin is one thing kprov pins by sha256: the base image, a Kubernetes
// binary, the crictl tarball, the Calico or ingress manifest.
type Pin struct {
	// Name is image, kubeadm, kubelet, kubectl, crictl, calico, ingress or
	// load-balancer.
	Name string
	// Source is the URL or local path the thing is read from.
	Source string
	// SHA256URL publishes Source's sum (bare hex); empty when nothing does.
	SHA256URL string
	// SHA256 is the expected sum, empty while unresolved.
	SHA256 string
	Origin Origin
}

// Entry is what the lock records of a pin.
func (p Pin) Entry() lockfile.Entry {
	return lockfile.Entry{Name: p.Name, Source: p.Source, SHA256: p.SHA256}
}

// Pins lists every pinned thing of c, with the sums the spec sets.
func Pins(c *spec.Cluster) []Pin {
	var out []Pin
	add := func(name, source, sumURL, sum string) {
		p := Pin{Name: name, Source: source, SHA256URL: sumURL, SHA256: strings.ToLower(sum)}
		if sum != "" {
			p.Origin = FromSpec
		}
		out = append(out, p)
	}
	if c.Image != nil && c.Image.Source != "" {
		add("image", c.Image.Source, "", c.Image.SHA256)
	}
	for _, b := range Sources(c) {
		var sum string
		if c.Artifacts != nil {
			sum = c.Artifacts.SHA256[b.Name]
		}
		add(b.Name, b.URL, b.SHA256URL, sum)
	}
	if c.Calico != nil && c.Calico.Manifest != "" {
		add("calico", c.Calico.Manifest, "", c.Calico.SHA256)
	}
	if c.Ingress != nil && c.Ingress.Manifest != "" {
		add("ingress", c.Ingress.Manifest, "", c.Ingress.SHA256)
	}
	if in := c.Ingress; in != nil && in.Controller == spec.ControllerTraefik {
		add("ingress-crds", in.CRDsManifest, "", in.CRDsSHA256)
		add("ingress-rbac", in.RBACManifest, "", in.RBACSHA256)
	}
	if c.Ingress != nil && c.Ingress.LoadBalancerManifest != "" {
		add("load-balancer", c.Ingress.LoadBalancerManifest, "", c.Ingress.LoadBalancerSHA256)
	}
	return out
}

// Expect fills each pin the spec left open from the lock: the spec's sum
// wins, then the lock's. Pins still open must be resolved (Resolve, or the
// caller hashes the file).
func Expect(pins []Pin, l *lockfile.Lock) []Pin {
	out := append([]Pin(nil), pins...)
	for i, p := range out {
		if p.SHA256 != "" || l == nil {
			continue
		}
		if e, ok := l.Get(p.Name, p.Source); ok {
			out[i].SHA256, out[i].Origin = e.SHA256, FromLock
		}
	}
	return out
}

// Open lists the pins that have no expected sum yet.
func Open(pins []Pin) []Pin {
	var out []Pin
	for _, p := range pins {
		if p.SHA256 == "" {
			out = append(out, p)
		}
	}
	return out
}

// Fetcher reads a small document (a .sha256 file) from a URL.
type Fetcher interface {
	Fetch(ctx context.Context, url string) ([]byte, error)
}

// Resolve fills the open pins that publish a sum by fetching it. Pins that
// publish none stay open for the caller.
func Resolve(ctx context.Context, f Fetcher, pins []Pin) ([]Pin, error) {
	out := append([]Pin(nil), pins...)
	for i, p := range out {
		if p.SHA256 != "" || p.SHA256URL == "" {
			continue
		}
		body, err := f.Fetch(ctx, p.SHA256URL)
		if err != nil {
			return nil, fmt.Errorf("resolve the sha256 of %s: %w", p.Name, err)
		}
		sum, err := ParseSum(body)
		if err != nil {
			return nil, fmt.Errorf("resolve the sha256 of %s from %s: %w", p.Name, p.SHA256URL, err)
		}
		out[i].SHA256, out[i].Origin = sum, FromPublished
	}
	return out, nil
}

// ParseSum reads a published sha256: the bare hex digest dl.k8s.io serves,
// or a sha256sum line ("HEX  NAME", as a mirror may write for the crictl
// tarball), with or without a trailing newline.
func ParseSum(body []byte) (string, error) {
	fields := strings.Fields(string(body))
	if len(fields) == 0 || len(fields) > 2 {
		return "", fmt.Errorf("%q is not a sha256 file: want the hex digest, optionally followed by a file name", clip(body))
	}
	sum := strings.ToLower(fields[0])
	if !lockfile.IsSum(sum) {
		return "", fmt.Errorf("%q is not a sha256 digest (64 hexadecimal characters)", clip([]byte(fields[0])))
	}
	return sum, nil
}

func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
