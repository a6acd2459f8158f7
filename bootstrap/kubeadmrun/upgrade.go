package kubeadmrun

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/bootstrap/remote"
)

// APIServerManifest is kube-apiserver's static pod on a control plane.
const APIServerManifest = "/etc/kubernetes/manifests/kube-apiserver.yaml"

// ControlPlaneVersion is the version of the control plane a node runs: the
// tag of kube-apiserver's image in its static pod manifest, which kubeadm
// upgrade rewrites last-but-one (before the kubelet's configuration). ""
// when the node runs none.
func ControlPlaneVersion(ctx context.Context, n remote.Node) (string, error) {
	out, err := n.Run(ctx, "cat "+APIServerManifest+" 2>/dev/null || true")
	if err != nil || strings.TrimSpace(out) == "" {
		return "", err
	}
	return manifestVersion([]byte(out))
}

// manifestVersion is the image tag of a static pod manifest's container
// named kube-apiserver.
func manifestVersion(data []byte) (string, error) {
	var pod corev1.Pod
	if err := yaml.Unmarshal(data, &pod); err != nil {
		return "", fmt.Errorf("%s: %w", APIServerManifest, err)
	}
	for _, c := range pod.Spec.Containers {
		if c.Name != "kube-apiserver" {
			continue
		}
		ref := c.Image
		if i := strings.IndexByte(ref, '@'); i >= 0 {
			ref = ref[:i]
		}
		if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
			return ref[i+1:], nil
		}
		return "", fmt.Errorf("%s: image %q has no tag", APIServerManifest, c.Image)
	}
	return "", fmt.Errorf("%s: no kube-apiserver container", APIServerManifest)
}

// upgradeTries bounds UpgradeRun: kubeadm upgrade is safe to repeat, and
// under emulation it fails now and then on a busy API server.
const upgradeTries = 3

// Upgrade runs kubeadm with args (bootstrap/kubeadm's UpgradeApplyArgs or
// UpgradeNodeArgs) on n, with the spec's patches in PatchesDir, again
// while it fails on a busy API server.
func Upgrade(ctx context.Context, n remote.Node, args []string, patches map[string]string) (string, error) {
	if err := placePatches(ctx, n, patches); err != nil {
		return "", err
	}
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = remote.Quote(a)
	}
	cmd := "kubeadm " + strings.Join(q, " ")
	var out string
	var err error
	for try := 1; try <= upgradeTries; try++ {
		out, err = n.Run(ctx, cmd)
		if slow, _ := Slow(err); !slow {
			break
		}
	}
	return out, err
}
