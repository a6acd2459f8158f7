// Package binaries plans how kubeadm, kubelet and kubectl reach a node:
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
	// BinDir is where binaries are installed on a node.
	BinDir = "/usr/local/bin"
	// Arch is the only node architecture kprov installs for.
	Arch = "amd64"
)

// Names are the Kubernetes binaries every node gets, in install order.
var Names = []string{"kubeadm", "kubelet", "kubectl"}

// Binary is one Kubernetes binary for a cluster.
type Binary struct {
	Name string
	// URL is the download; SHA256URL its published sha256 (bare hex).
	URL, SHA256URL string
	// Path is the install path on the node.
	Path string
}

// Sources lists where each of kubeadm, kubelet and kubectl of c's
// Kubernetes version comes from: the mirror when the spec names one, with
// dl.k8s.io's layout, else dl.k8s.io.
func Sources(c *spec.Cluster) []Binary {
	base := Upstream
	if c.Artifacts != nil && c.Artifacts.Mirror != "" {
		base = strings.TrimRight(c.Artifacts.Mirror, "/")
	}
	out := make([]Binary, 0, len(Names))
	for _, n := range Names {
		u := ReleaseURL(base, c.KubernetesVersion, n)
		out = append(out, Binary{Name: n, URL: u, SHA256URL: u + ".sha256", Path: BinDir + "/" + n})
	}
	return out
}

// ReleaseURL is dl.k8s.io's layout under base:
// BASE/release/VERSION/bin/linux/amd64/NAME.
func ReleaseURL(base, version, name string) string {
	return base + "/release/" + version + "/bin/linux/" + Arch + "/" + name
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
