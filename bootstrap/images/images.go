// Package images lists every container image a cluster runs: kubeadm's
// control-plane images for the cluster's Kubernetes version and every image
// of the addon objects kprov applies. It is pure.
package images

import (
	"strings"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/provision/spec"
)

// Image is one image the cluster runs.
type Image struct {
	// Ref is the upstream reference, such as registry.k8s.io/pause:3.9,
	// as kubeadm or the addon manifest names it.
	Ref string `json:"image"`
	// Source is what runs it: "kubeadm" or an addon phase (addons/calico).
	Source string `json:"source"`
	// Digest is the manifest digest kprov.lock.hcl pins ("sha256:..."), or
	// the one Ref names after @; empty until the image was first pulled.
	Digest string `json:"digest,omitempty"`
}

// Source of kubeadm's images.
const SourceKubeadm = "kubeadm"

// Digests looks up the digest a lock pins for an image reference.
// *lockfile.Lock is one.
type Digests interface {
	Digest(ref string) (string, bool)
}

// List is every image of c: kubeadm's, kube-vip's when the cluster has a
// virtual API address, then the addon steps' (Addons),
// each reference once (its first source), in that order, with the digest
// digests pins (nil: none).
func List(c *spec.Cluster, steps []addons.Step, digests Digests) ([]Image, error) {
	kubeadm, err := Kubeadm(c)
	if err != nil {
		return nil, err
	}
	all := kubeadm
	if _, ok := c.APIVIP(); ok {
		all = append(all, Image{Ref: KubeVIP, Source: SourceKubeVIP})
	}
	all = append(all, Addons(steps)...)
	seen := make(map[string]bool, len(all))
	out := make([]Image, 0, len(all))
	for _, img := range all {
		if seen[img.Ref] {
			continue
		}
		seen[img.Ref] = true
		if digests != nil {
			if d, ok := digests.Digest(img.Ref); ok {
				img.Digest = d
			}
		}
		if img.Digest == "" {
			img.Digest = refDigest(img.Ref)
		}
		out = append(out, img)
	}
	return out, nil
}

// refDigest is the digest a reference names after @ ("" when none).
func refDigest(ref string) string {
	if _, d, ok := strings.Cut(ref, "@"); ok {
		return d
	}
	return ""
}

// controlPlaneOnly are the kubeadm images only control planes run (static
// pods).
var controlPlaneOnly = []string{"/kube-apiserver:", "/kube-controller-manager:", "/kube-scheduler:", "/etcd:"}

// ForNode is the part of imgs a node pulls: workers leave out the
// control plane's static pod images (kubeadm's and kube-vip).
func ForNode(imgs []Image, controlPlane bool) []Image {
	if controlPlane {
		return imgs
	}
	var out []Image
	for _, img := range imgs {
		skip := img.Source == SourceKubeVIP
		for _, s := range controlPlaneOnly {
			skip = skip || (img.Source == SourceKubeadm && strings.Contains(img.Ref, s))
		}
		if !skip {
			out = append(out, img)
		}
	}
	return out
}
