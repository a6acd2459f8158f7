// Package binaries plans how kubeadm, kubelet, kubectl and crictl reach a node:
// where each comes from (upstream or the spec's mirror), which sha256 it
// must have (the spec's pin, else kprov.lock.hcl, else the published
// .sha256), and the shell commands that install it, looking first and safe
// to repeat. Planning is pure; fetching a published sum goes through a
// Fetcher the caller provides.
package binaries

import (
	"fmt"
	"strings"

	"github.com/kprov/kprov/provision/spec"
)

// Where binaries come from and go to.
const (
	// Upstream is the base URL of Kubernetes release downloads.
	Upstream = "https://dl.k8s.io"
	// CriToolsUpstream is the base URL of cri-tools release downloads.
	CriToolsUpstream = "https://github.com/kubernetes-sigs/cri-tools/releases/download"
	// BinDir is where binaries are installed on a node.
	BinDir = "/usr/local/bin"
	// Arch is the only node architecture kprov installs for.
	Arch = "amd64"
)

// Names are the Kubernetes binaries every node gets, in install order;
// crictl, from cri-tools, comes last (see Sources).
var Names = []string{"kubeadm", "kubelet", "kubectl"}

// Crictl is the name of cri-tools' CLI, which kubeadm's preflight wants.
const Crictl = "crictl"

// Binary is one binary for a cluster's nodes.
type Binary struct {
	Name string
	// URL is the download; SHA256URL its published sha256 (bare hex or a
	// sha256sum line).
	URL, SHA256URL string
	// Path is the install path on the node.
	Path string
	// Member is the file taken out of URL when URL is a gzipped tarball
	// (crictl); empty when URL is the binary itself.
	Member string
	// Version is the release an installed archive member must report as
	// "NAME version VERSION": the pinned sum is the archive's, not its
	// member's, so the version is how a node is checked.
	Version string
}

// Sources lists where each binary of c comes from: kubeadm, kubelet and
// kubectl of c's Kubernetes version with dl.k8s.io's layout, crictl of the
// spec's crictl_version with the cri-tools releases' layout, each under
// the spec's mirror when it names one, else upstream.
func Sources(c *spec.Cluster) []Binary {
	base, tools := Upstream, CriToolsUpstream
	if c.Artifacts != nil && c.Artifacts.Mirror != "" {
		base = strings.TrimRight(c.Artifacts.Mirror, "/")
		tools = base + "/cri-tools"
	}
	out := make([]Binary, 0, len(Names)+1)
	for _, n := range Names {
		u := ReleaseURL(base, c.KubernetesVersion, n)
		out = append(out, Binary{Name: n, URL: u, SHA256URL: u + ".sha256", Path: BinDir + "/" + n})
	}
	v := CrictlVersion(c)
	u := CrictlURL(tools, v)
	out = append(out, Binary{Name: Crictl, URL: u, SHA256URL: u + ".sha256", Path: BinDir + "/" + Crictl, Member: Crictl, Version: v})
	return out
}

// ReleaseURL is dl.k8s.io's layout under base:
// BASE/release/VERSION/bin/linux/amd64/NAME.
func ReleaseURL(base, version, name string) string {
	return base + "/release/" + version + "/bin/linux/" + Arch + "/" + name
}

// CrictlURL is the cri-tools releases' layout under base:
// BASE/VERSION/crictl-VERSION-linux-amd64.tar.gz.
func CrictlURL(base, version string) string {
	return base + "/" + version + "/crictl-" + version + "-linux-" + Arch + ".tar.gz"
}

// CrictlVersion is the spec's crictl_version, else (a cluster not
// normalized) the default for its Kubernetes version.
func CrictlVersion(c *spec.Cluster) string {
	if c.Artifacts != nil && c.Artifacts.CrictlVersion != "" {
		return c.Artifacts.CrictlVersion
	}
	return spec.DefaultCrictlVersion(c.Kubernetes())
}

// Commands are the install commands of c's binaries (see Install), each
// with its expected sum taken from pins (after Expect and Resolve).
func Commands(c *spec.Cluster, pins []Pin) ([]string, error) {
	var out []string
	for _, b := range Sources(c) {
		sum := ""
		for _, p := range pins {
			if p.Name == b.Name && p.Source == b.URL {
				sum = p.SHA256
			}
		}
		if sum == "" {
			return nil, fmt.Errorf("no sha256 known for %s (%s): resolve the pins first", b.Name, b.URL)
		}
		cmd, err := Install(b, sum)
		if err != nil {
			return nil, err
		}
		out = append(out, cmd)
	}
	return out, nil
}
