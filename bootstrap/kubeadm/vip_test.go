package kubeadm

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/spec"
)

// kubeVIPVersion is the release images.KubeVIP names.
func kubeVIPVersion(t *testing.T) string {
	_, tag, ok := strings.Cut(images.KubeVIP, ":")
	if !ok {
		t.Fatalf("images.KubeVIP %q has no tag", images.KubeVIP)
	}
	return tag
}

func TestVIPKubeconfig(t *testing.T) {
	for _, tc := range []struct {
		version      string
		initializing bool
		want         string
	}{
		{"v1.21.14", true, AdminConfPath},
		{"v1.28.15", true, AdminConfPath},
		{"v1.29.0", true, SuperAdminConf},
		{"v1.37.2", true, SuperAdminConf},
		{"v1.37.2", false, AdminConfPath},
	} {
		c := &spec.Cluster{KubernetesVersion: tc.version}
		if err := spec.Normalize(c); err != nil {
			t.Fatal(err)
		}
		if got := VIPKubeconfig(c, tc.initializing); got != tc.want {
			t.Errorf("VIPKubeconfig(%s, initializing %v) = %s, want %s", tc.version, tc.initializing, got, tc.want)
		}
	}
}

// The real kube-vip's own manifest for the same settings is kprov's, but
// for the pinned image it stamps and the kubeconfig's path and type.
func TestVIPPodIsKubeVIPs(t *testing.T) {
	bin := judge.KubeVIP(t, kubeVIPVersion(t))
	vip := netip.MustParseAddr("10.17.0.10")
	out, err := exec.Command(bin, "manifest", "pod", "--interface", VIPInterface, "--address", vip.String(),
		"--controlplane", "--arp", "--leaderElection").Output()
	if err != nil {
		t.Fatalf("kube-vip manifest pod: %v", err)
	}
	var want corev1.Pod
	if err := yaml.UnmarshalStrict(out, &want); err != nil {
		t.Fatalf("kube-vip's manifest: %v\n%s", err, out)
	}
	for _, kc := range []string{AdminConfPath, SuperAdminConf} {
		data, err := VIPPod(vip, 0, kc)
		if err != nil {
			t.Fatal(err)
		}
		var got corev1.Pod
		if err := yaml.UnmarshalStrict(data, &got); err != nil {
			t.Fatalf("kprov's manifest: %v\n%s", err, data)
		}
		hp := got.Spec.Volumes[0].HostPath
		if hp.Path != kc || hp.Type == nil || *hp.Type != corev1.HostPathFile {
			t.Errorf("kubeconfig volume %+v, want %s of type File", hp, kc)
		}
		hp.Path, hp.Type = AdminConfPath, nil // kube-vip's own
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("kprov's kube-vip pod (kubeconfig %s) differs from kube-vip %s's (-kube-vip +kprov):\n%s", kc, kubeVIPVersion(t), d)
		}
	}
	if _, err := VIPPod(netip.MustParseAddr("fd00::10"), 0, AdminConfPath); err == nil {
		t.Error("VIPPod took an IPv6 address")
	}
}

// A longer lease keeps kube-vip's proportions: renew within 3/5, retry
// every 1/5.
func TestVIPPodLease(t *testing.T) {
	data, err := VIPPod(netip.MustParseAddr("10.17.0.10"), 30*time.Second, AdminConfPath)
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := yaml.UnmarshalStrict(data, &pod); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range pod.Spec.Containers[0].Env {
		got[e.Name] = e.Value
	}
	for name, want := range map[string]string{"vip_leaseduration": "30", "vip_renewdeadline": "18", "vip_retryperiod": "6"} {
		if got[name] != want {
			t.Errorf("%s = %q, want %q", name, got[name], want)
		}
	}
	if _, err := VIPPod(netip.MustParseAddr("10.17.0.10"), 2*time.Second, AdminConfPath); err == nil {
		t.Error("a 2s lease was taken")
	}
}
