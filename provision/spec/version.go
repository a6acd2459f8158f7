package spec

import (
	"errors"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/version"
)

// Version is a Kubernetes release, such as v1.30.14: the parsed
// kubernetes_version. A Version that does not parse is not Valid; it keeps
// the text it was parsed from and why it failed.
type Version struct {
	written string
	v       *version.Version
	err     error
}

// ParseVersion parses an exact Kubernetes release, with or without its
// leading v: "1.30.14", "v1.30.14", "v1.31.0-rc.1". "1.30", "latest" and
// text with spaces around it are refused: kprov pins exact releases.
func ParseVersion(s string) (Version, error) {
	if strings.TrimSpace(s) != s {
		err := fmt.Errorf("illegal version string %q: remove the spaces", s)
		return Version{written: s, err: err}, err
	}
	v, err := version.ParseSemantic(s)
	if err != nil {
		return Version{written: s, err: err}, err
	}
	return Version{written: s, v: v}, nil
}

// Kubernetes is the cluster's Kubernetes release. Normalize parses
// kubernetes_version once; a Cluster built in Go without Normalize, or whose
// kubernetes_version changed since, is parsed here. It is not Valid when
// kubernetes_version does not parse (validation says why).
func (c *Cluster) Kubernetes() Version {
	if c.kube.written == c.KubernetesVersion && (c.kube.v != nil || c.kube.err != nil) {
		return c.kube
	}
	v, _ := ParseVersion(c.KubernetesVersion)
	return v
}

// Valid reports whether v is a release.
func (v Version) Valid() bool { return v.v != nil }

// Err is why v is not a release; nil for a release.
func (v Version) Err() error {
	if v.v == nil && v.err == nil {
		return errors.New("no Kubernetes version")
	}
	return v.err
}

// String is the release in kubeadm's form, v1.30.14; for a Version that is
// not Valid, the text as written.
func (v Version) String() string {
	if v.v == nil {
		return v.written
	}
	return "v" + v.v.String()
}

// Major, Minor and Patch are v's numbers: 1, 30 and 14 for v1.30.14; zero
// for a Version that is not Valid.
func (v Version) Major() uint { return v.part((*version.Version).Major) }
func (v Version) Minor() uint { return v.part((*version.Version).Minor) }
func (v Version) Patch() uint { return v.part((*version.Version).Patch) }

func (v Version) part(f func(*version.Version) uint) uint {
	if v.v == nil {
		return 0
	}
	return f(v.v)
}

// AtLeast reports whether v is release gate or later. Gates (gates.go)
// compare by numbers only, so v1.31.0-rc.1 is at least 1.31.0. A Version
// that is not Valid is neither at least nor before a gate.
func (v Version) AtLeast(gate *version.Version) bool { return v.v != nil && v.v.AtLeast(gate) }

// Before reports whether v is earlier than release gate (see AtLeast).
func (v Version) Before(gate *version.Version) bool { return v.v != nil && v.v.LessThan(gate) }
