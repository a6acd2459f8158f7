package kubeadmrun

import "testing"

func TestManifestVersion(t *testing.T) {
	pod := func(containers string) []byte {
		return []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-apiserver\n  namespace: kube-system\nspec:\n  containers:\n" + containers)
	}
	for _, tc := range []struct {
		data []byte
		want string
		ok   bool
	}{
		{pod("  - name: kube-apiserver\n    image: registry.k8s.io/kube-apiserver:v1.30.4\n"), "v1.30.4", true},
		{pod("  - name: sidecar\n    image: x:1\n  - name: kube-apiserver\n    image: 10.77.0.1:5000/kube-apiserver:v1.30.14@sha256:0123\n"), "v1.30.14", true},
		{pod("  - name: kube-apiserver\n    image: 10.77.0.1:5000/kube-apiserver\n"), "", false},
		{pod("  - name: etcd\n    image: registry.k8s.io/etcd:3.5.15-0\n"), "", false},
		{[]byte("{not yaml"), "", false},
	} {
		got, err := manifestVersion(tc.data)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("%q: %q, %v; want %q (ok %v)", tc.data, got, err, tc.want, tc.ok)
		}
	}
}
