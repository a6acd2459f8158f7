// Package prepull pulls every image of the cluster on a node before kubeadm
// starts, through the node's containerd (so through the spec's mirrors), and
// reports the digest each tag resolved to, for the lock to pin or check.
package prepull

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/registry"
	"github.com/kprov/kprov/bootstrap/remote"
)

// Result is what one node holds after Node: the digest of every image, and
// which of them it pulled now.
type Result struct {
	Node    string
	Digests map[string]string // image ref (as listed) -> "sha256:..."
	Pulled  []string
}

// Node makes h hold every image of imgs: it lists what containerd has
// (one command), checks that each mirror it needs answers, pulls what is
// missing one image at a time, and lists again. A node that cannot reach a
// mirror, or a mirror that lacks an image, is one error naming the node,
// the image and the mirror.
func Node(ctx context.Context, n remote.Node, imgs []images.Image, upstreams []registry.Upstream) (Result, error) {
	r := Result{Node: n.Name(), Digests: map[string]string{}}
	have, err := list(ctx, n)
	if err != nil {
		return r, err
	}
	var missing []images.Image
	for _, img := range imgs {
		if d, ok := have[registry.Normalize(img.Ref)]; ok {
			r.Digests[img.Ref] = d
		} else {
			missing = append(missing, img)
		}
	}
	if len(missing) == 0 {
		return r, nil
	}
	if err := probe(ctx, n, missing, upstreams); err != nil {
		return r, err
	}
	for _, img := range missing {
		if _, err := n.Run(ctx, "crictl pull "+remote.Quote(img.Ref)); err != nil {
			return r, pullError(n.Name(), img, upstreams, err)
		}
		r.Pulled = append(r.Pulled, img.Ref)
	}
	if have, err = list(ctx, n); err != nil {
		return r, err
	}
	for _, img := range missing {
		d, ok := have[registry.Normalize(img.Ref)]
		if !ok {
			return r, fmt.Errorf("node %s: crictl pulled %s but containerd does not list it with a digest", n.Name(), img.Ref)
		}
		r.Digests[img.Ref] = d
	}
	return r, nil
}

// list is every tag containerd's CRI namespace holds, with the digest it
// was pulled by: normalized ref -> "sha256:...".
func list(ctx context.Context, n remote.Node) (map[string]string, error) {
	out, err := n.Run(ctx, "crictl images -o json")
	if err != nil {
		return nil, err
	}
	return parseList(n.Name(), out)
}

// parseList reads `crictl images -o json`.
func parseList(node, out string) (map[string]string, error) {
	var l struct {
		Images []struct {
			RepoTags    []string `json:"repoTags"`
			RepoDigests []string `json:"repoDigests"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		return nil, fmt.Errorf("node %s: read `crictl images -o json`: %w", node, err)
	}
	got := map[string]string{}
	for _, img := range l.Images {
		// An image named by digest (repo@sha256:...) has no tag.
		for _, rd := range img.RepoDigests {
			if _, d, ok := strings.Cut(rd, "@"); ok {
				got[rd] = d
			}
		}
		for _, tag := range img.RepoTags {
			repo := tag[:strings.LastIndex(tag, ":")]
			for _, rd := range img.RepoDigests {
				if r, d, ok := strings.Cut(rd, "@"); ok && r == repo {
					got[tag] = d
				}
			}
		}
	}
	return got, nil
}

// probe checks from the node that every mirror the missing images need
// answers at its API root (any HTTP status will do: 200, or 401 when it
// wants a login), in one command per endpoint.
func probe(ctx context.Context, n remote.Node, missing []images.Image, upstreams []registry.Upstream) error {
	seen := map[string]bool{}
	for _, img := range missing {
		m := registry.For(upstreams, img.Ref)
		if m == nil {
			continue
		}
		for _, e := range m.Endpoints {
			if seen[e.URL] {
				continue
			}
			seen[e.URL] = true
			flags := "-sS -o /dev/null --max-time 15 -w '%{http_code}'"
			if e.CAFile != "" {
				flags += " --cacert " + remote.Quote(registry.CAPath(m.Name, e.CAFile))
			}
			if _, err := n.Run(ctx, "curl "+flags+" "+remote.Quote(e.Probe())); err != nil {
				if m.Fallback || len(m.Endpoints) > 1 {
					continue // containerd goes on to the next endpoint
				}
				return &MirrorError{Node: n.Name(), Image: img.Ref, Mirror: e.URL, Err: err}
			}
		}
	}
	return nil
}

// MirrorError is a node that could not get an image through its mirror.
type MirrorError struct {
	Node, Image, Mirror string
	Err                 error
}

func (e *MirrorError) Error() string {
	return fmt.Sprintf("node %s: cannot pull %s through the mirror %s: check that the mirror runs, that the node can reach it, and that it holds the image (kprov mirror FILE --to REGISTRY copies the cluster's images into one):\n%v",
		e.Node, e.Image, e.Mirror, e.Err)
}

func (e *MirrorError) Unwrap() error { return e.Err }

func pullError(node string, img images.Image, upstreams []registry.Upstream, err error) error {
	if m := registry.For(upstreams, img.Ref); m != nil {
		return &MirrorError{Node: node, Image: img.Ref, Mirror: m.Describe(), Err: err}
	}
	return fmt.Errorf("node %s: cannot pull %s from its registry (the spec names no mirror for %s): %w", node, img.Ref, registry.ImageHost(img.Ref), err)
}
