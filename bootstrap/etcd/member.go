package etcd

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// Member is one control plane's etcd, as kubeadm's static pod manifest
// (/etc/kubernetes/manifests/etcd.yaml) runs it.
type Member struct {
	Node    string `json:"node"`
	Name    string `json:"name"`    // --name
	PeerURL string `json:"peerURL"` // --initial-advertise-peer-urls
	DataDir string `json:"dataDir"` // --data-dir
	Image   string `json:"image"`
}

// ParseManifest reads node's etcd static pod manifest.
func ParseManifest(node string, manifest []byte) (Member, error) {
	m := Member{Node: node}
	var pod corev1.Pod
	if err := yaml.Unmarshal(manifest, &pod); err != nil {
		return m, fmt.Errorf("%s: etcd's manifest: %w", node, err)
	}
	for _, c := range pod.Spec.Containers {
		if c.Name != "etcd" {
			continue
		}
		m.Image = c.Image
		for _, arg := range append(append([]string{}, c.Command...), c.Args...) {
			k, v, ok := strings.Cut(arg, "=")
			switch {
			case !ok:
			case k == "--name":
				m.Name = v
			case k == "--initial-advertise-peer-urls":
				m.PeerURL = v
			case k == "--data-dir":
				m.DataDir = v
			}
		}
	}
	var missing []string
	for what, v := range map[string]string{"image": m.Image, "--name": m.Name, "--initial-advertise-peer-urls": m.PeerURL, "--data-dir": m.DataDir} {
		if v == "" {
			missing = append(missing, what)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return m, fmt.Errorf("%s: etcd's manifest has no container etcd with %s: is etcd kubeadm's local (stacked) etcd?", node, strings.Join(missing, ", "))
	}
	if !strings.HasPrefix(m.DataDir, "/") || strings.Contains(m.PeerURL, ",") {
		return m, fmt.Errorf("%s: etcd's manifest: data dir %q, peer URLs %q: want one absolute folder and one URL", node, m.DataDir, m.PeerURL)
	}
	return m, nil
}

// InitialCluster is etcd's --initial-cluster for members: name=peerURL,
// comma-separated, in name order.
func InitialCluster(members []Member) string {
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = m.Name + "=" + m.PeerURL
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
