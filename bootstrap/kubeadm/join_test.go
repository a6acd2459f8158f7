package kubeadm

import (
	"testing"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

func TestJoinRoles(t *testing.T) {
	in := fixtures[1].input(t) // 3 control planes, 2 workers
	first, _ := plan.FirstControlPlane(in.Nodes)
	if _, err := JoinConfig(in, first); err == nil {
		t.Error("JoinConfig accepted the first control plane")
	}
	hash, _ := CACertHash(in.Secrets.CACert)
	for _, n := range in.Nodes {
		if n.Name == first.Name {
			continue
		}
		b, err := JoinConfig(in, n)
		if err != nil {
			t.Fatal(err)
		}
		j := docs(t, b)["JoinConfiguration"]
		bt := j["discovery"].(map[string]any)["bootstrapToken"].(map[string]any)
		if bt["token"] != testToken || bt["apiServerEndpoint"] != "api.prod.internal:6443" ||
			len(bt["caCertHashes"].([]any)) != 1 || bt["caCertHashes"].([]any)[0] != hash {
			t.Errorf("%s: discovery = %v", n.Name, bt)
		}
		cp, isCP := j["controlPlane"].(map[string]any)
		if isCP != (n.Role == spec.RoleControlPlane) {
			t.Fatalf("%s (%s): controlPlane = %v", n.Name, n.Role, j["controlPlane"])
		}
		if isCP {
			ep := cp["localAPIEndpoint"].(map[string]any)
			if cp["certificateKey"] != testCertKey || ep["advertiseAddress"] != n.IP.String() || ep["bindPort"] != float64(APIPort) {
				t.Errorf("%s: controlPlane = %v", n.Name, cp)
			}
		}
	}
}

func TestV1beta2Refuses(t *testing.T) {
	for _, f := range v1beta3OnlyFields() {
		d := document{apiVersion: V1beta3, kind: "JoinConfiguration", fields: f}
		if _, err := toV1beta2([]document{d}); err == nil {
			t.Errorf("toV1beta2 accepted %v", f)
		}
	}
	ok := document{apiVersion: V1beta3, kind: "JoinConfiguration", fields: map[string]any{"nodeRegistration": map[string]any{"name": "a"}}}
	other := document{apiVersion: "kubelet.config.k8s.io/v1beta1", kind: "KubeletConfiguration"}
	got, err := toV1beta2([]document{ok, other})
	if err != nil || got[0].apiVersion != V1beta2 || got[1].apiVersion != other.apiVersion {
		t.Errorf("toV1beta2 = %v, %v", got, err)
	}
}

func v1beta3OnlyFields() []map[string]any {
	return []map[string]any{
		{"skipPhases": []any{"addon/kube-proxy"}},
		{"patches": map[string]any{"directory": "/p"}},
		{"nodeRegistration": map[string]any{"imagePullPolicy": "Never"}},
	}
}
