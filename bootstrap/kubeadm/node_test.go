package kubeadm

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

func TestTaints(t *testing.T) {
	for _, c := range []struct {
		in      []string
		want    []corev1.Taint
		wantErr bool
	}{
		{in: nil, want: nil},
		{in: []string{}, want: []corev1.Taint{}},
		{in: []string{"gpu=true:NoSchedule", "dedicated:NoExecute"}, want: []corev1.Taint{
			{Key: "gpu", Value: "true", Effect: corev1.TaintEffectNoSchedule},
			{Key: "dedicated", Effect: corev1.TaintEffectNoExecute}}},
		{in: []string{"gpu=true:Sometimes"}, wantErr: true},
		{in: []string{"gpu:NoSchedule-"}, wantErr: true},
		{in: []string{"no effect"}, wantErr: true},
	} {
		got, err := Taints(c.in)
		if (err != nil) != c.wantErr || !reflect.DeepEqual(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("Taints(%q) = %#v, %v; want %#v (error %v)", c.in, got, err, c.want, c.wantErr)
		}
	}
}

func TestLabels(t *testing.T) {
	n := plan.Node{Labels: map[string]string{
		"tier": "app", "example.com/team": "ml", "node.kubernetes.io/gpu": "true",
		"topology.kubernetes.io/zone": "a", "kubernetes.io/hostname": "x",
		"node-role.kubernetes.io/worker": "", "kubernetes.io/role": "worker", "foo.k8s.io/x": "y",
	}}
	wantKubelet := map[string]string{"tier": "app", "example.com/team": "ml", "node.kubernetes.io/gpu": "true",
		"topology.kubernetes.io/zone": "a", "kubernetes.io/hostname": "x"}
	wantLater := map[string]string{"node-role.kubernetes.io/worker": "", "kubernetes.io/role": "worker", "foo.k8s.io/x": "y"}
	if got := KubeletLabels(n); !reflect.DeepEqual(got, wantKubelet) {
		t.Errorf("KubeletLabels = %v, want %v", got, wantKubelet)
	}
	if got := RestrictedLabels(n); !reflect.DeepEqual(got, wantLater) {
		t.Errorf("RestrictedLabels = %v, want %v", got, wantLater)
	}
	reg, err := nodeRegistration(&spec.Cluster{Kubeadm: &spec.Kubeadm{}}, n)
	if err != nil {
		t.Fatal(err)
	}
	want := "example.com/team=ml,kubernetes.io/hostname=x,node.kubernetes.io/gpu=true,tier=app,topology.kubernetes.io/zone=a"
	if len(reg.KubeletExtraArgs) != 2 || reg.KubeletExtraArgs[1].Name != "node-labels" || reg.KubeletExtraArgs[1].Value != want {
		t.Errorf("kubelet args = %v, want node-labels %s", reg.KubeletExtraArgs, want)
	}
}

// docs splits a rendered file into its documents by kind.
func docs(t *testing.T, b []byte) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		var m map[string]any
		if err := yaml.Unmarshal(d, &m); err != nil {
			t.Fatal(err)
		}
		out[m["kind"].(string)] = m
	}
	return out
}

func TestKubeProxyModes(t *testing.T) {
	for _, c := range []struct {
		version, mode, scheduler string
		want                     map[string]any // nil: an error
	}{
		{"v1.21.14", "ipvs", "lc", map[string]any{"mode": "ipvs", "ipvs": map[string]any{"scheduler": "lc"}}},
		{"v1.21.14", "ipvs", "", map[string]any{"mode": "ipvs", "ipvs": map[string]any{"scheduler": "rr"}}},
		{"v1.30.14", "iptables", "", map[string]any{"mode": "iptables"}},
		{"v1.37.2", "nftables", "", map[string]any{"mode": "nftables"}},
		{"v1.30.14", "nftables", "", nil},
		{"v1.37.2", "userspace", "", nil},
	} {
		f := fixtures[0]
		c0 := f.cluster
		f.cluster = func() *spec.Cluster {
			cl := c0()
			cl.KubernetesVersion = c.version
			cl.KubeProxy = &spec.KubeProxy{Mode: c.mode, IPVSScheduler: c.scheduler}
			return cl
		}
		in := f.input(t)
		b, err := InitConfig(in)
		if c.want == nil {
			if err == nil || !strings.Contains(err.Error(), c.mode) {
				t.Errorf("%s on %s: err = %v, want a kube_proxy mode error", c.mode, c.version, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s on %s: %v", c.mode, c.version, err)
		}
		got := docs(t, b)["KubeProxyConfiguration"]
		c.want["apiVersion"] = "kubeproxy.config.k8s.io/v1alpha1"
		c.want["kind"] = "KubeProxyConfiguration"
		c.want["clusterCIDR"] = in.Cluster.Network.PodCIDR
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s on %s: KubeProxyConfiguration = %v, want %v", c.mode, c.version, got, c.want)
		}
	}
}
