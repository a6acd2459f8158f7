package images

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/spec"
)

// load decodes, defaults and checks an HCL spec.
func load(t testing.TB, src string) *spec.Cluster {
	t.Helper()
	s, diags := spec.NewLoader().Load("cluster.hcl", []byte(src))
	if diags.HasErrors() {
		t.Fatalf("spec: %v", diags)
	}
	return s.Cluster
}

// clusterHCL is a spec of Kubernetes version with extra blocks (and a
// Calico that runs on it unless extra names one).
func clusterHCL(version, extra string) string {
	if !strings.HasPrefix(version, "1.21.") && !strings.Contains(extra, "calico") {
		extra += "\n  calico { version = \"v3.31.5\" }"
	}
	return `cluster "c" {
  kubernetes_version = "` + version + `"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" { role = "control-plane" }
` + extra + `
}
`
}

func refs(imgs []Image) []string {
	out := make([]string, len(imgs))
	for i, img := range imgs {
		out[i] = img.Ref
	}
	return out
}

// TestKubeadm: what `kubeadm config images list` prints, as its releases
// print it (the oracle test runs the real ones of 1.21, 1.30 and 1.37).
func TestKubeadm(t *testing.T) {
	for _, tc := range []struct {
		version, repo string
		want          []string
	}{
		{"1.21.14", "", []string{
			"k8s.gcr.io/kube-apiserver:v1.21.14", "k8s.gcr.io/kube-controller-manager:v1.21.14",
			"k8s.gcr.io/kube-scheduler:v1.21.14", "k8s.gcr.io/kube-proxy:v1.21.14",
			"k8s.gcr.io/pause:3.4.1", "k8s.gcr.io/etcd:3.4.13-0", "k8s.gcr.io/coredns/coredns:v1.8.0"}},
		{"1.21.14", "registry.lab:5000/k8s", []string{
			"registry.lab:5000/k8s/kube-apiserver:v1.21.14", "registry.lab:5000/k8s/kube-controller-manager:v1.21.14",
			"registry.lab:5000/k8s/kube-scheduler:v1.21.14", "registry.lab:5000/k8s/kube-proxy:v1.21.14",
			"registry.lab:5000/k8s/pause:3.4.1", "registry.lab:5000/k8s/etcd:3.4.13-0", "registry.lab:5000/k8s/coredns:v1.8.0"}},
		// The registry.k8s.io default reached 1.22 with 1.22.17.
		{"1.22.16", "", []string{
			"k8s.gcr.io/kube-apiserver:v1.22.16", "k8s.gcr.io/kube-controller-manager:v1.22.16",
			"k8s.gcr.io/kube-scheduler:v1.22.16", "k8s.gcr.io/kube-proxy:v1.22.16",
			"k8s.gcr.io/pause:3.5", "k8s.gcr.io/etcd:3.5.6-0", "k8s.gcr.io/coredns/coredns:v1.8.4"}},
		{"1.22.17", "", []string{
			"registry.k8s.io/kube-apiserver:v1.22.17", "registry.k8s.io/kube-controller-manager:v1.22.17",
			"registry.k8s.io/kube-scheduler:v1.22.17", "registry.k8s.io/kube-proxy:v1.22.17",
			"registry.k8s.io/pause:3.5", "registry.k8s.io/etcd:3.5.6-0", "registry.k8s.io/coredns/coredns:v1.8.4"}},
		// k8s.gcr.io named by the spec is not kubeadm's default any more:
		// CoreDNS is then <repository>/coredns.
		{"1.24.17", "k8s.gcr.io", []string{
			"k8s.gcr.io/kube-apiserver:v1.24.17", "k8s.gcr.io/kube-controller-manager:v1.24.17",
			"k8s.gcr.io/kube-scheduler:v1.24.17", "k8s.gcr.io/kube-proxy:v1.24.17",
			"k8s.gcr.io/pause:3.7", "k8s.gcr.io/etcd:3.5.6-0", "k8s.gcr.io/coredns:v1.8.6"}},
		{"1.30.14", "", []string{
			"registry.k8s.io/kube-apiserver:v1.30.14", "registry.k8s.io/kube-controller-manager:v1.30.14",
			"registry.k8s.io/kube-scheduler:v1.30.14", "registry.k8s.io/kube-proxy:v1.30.14",
			"registry.k8s.io/coredns/coredns:v1.11.3", "registry.k8s.io/pause:3.9", "registry.k8s.io/etcd:3.5.15-0"}},
		{"1.37.2", "", []string{
			"registry.k8s.io/kube-apiserver:v1.37.2", "registry.k8s.io/kube-controller-manager:v1.37.2",
			"registry.k8s.io/kube-scheduler:v1.37.2", "registry.k8s.io/kube-proxy:v1.37.2",
			"registry.k8s.io/coredns/coredns:v1.14.6", "registry.k8s.io/pause:3.10.2", "registry.k8s.io/etcd:3.7.0-0"}},
		{"1.37.2", "mirror.example/k8s", []string{
			"mirror.example/k8s/kube-apiserver:v1.37.2", "mirror.example/k8s/kube-controller-manager:v1.37.2",
			"mirror.example/k8s/kube-scheduler:v1.37.2", "mirror.example/k8s/kube-proxy:v1.37.2",
			"mirror.example/k8s/coredns:v1.14.6", "mirror.example/k8s/pause:3.10.2", "mirror.example/k8s/etcd:3.7.0-0"}},
	} {
		extra := ""
		if tc.repo != "" {
			extra = `kubeadm { image_repository = "` + tc.repo + `" }`
		}
		c := load(t, clusterHCL(tc.version, extra))
		got, err := Kubeadm(c)
		if err != nil {
			t.Errorf("%s %q: %v", tc.version, tc.repo, err)
			continue
		}
		if !reflect.DeepEqual(refs(got), tc.want) {
			t.Errorf("%s %q:\n got %q\nwant %q", tc.version, tc.repo, refs(got), tc.want)
		}
		for _, img := range got {
			if img.Source != SourceKubeadm || img.Digest != "" {
				t.Errorf("%s: %+v", tc.version, img)
			}
		}
		pause, err := Pause(c)
		if err != nil || !contains(tc.want, pause) || !strings.Contains(pause, "/pause:") {
			t.Errorf("%s %q: pause %q %v", tc.version, tc.repo, pause, err)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

// TestKubeadmEveryMinor: every minor kprov accepts has a row, and a minor
// without one is an error, never a guess.
func TestKubeadmEveryMinor(t *testing.T) {
	for m := spec.MinKubernetes.Minor(); m <= spec.MaxKubernetes.Minor(); m++ {
		r, ok := byMinor[m]
		if !ok || r.pause == "" || r.etcd == "" || r.coredns == "" {
			t.Errorf("1.%d: no complete row: %+v", m, r)
		}
	}
	for _, v := range []string{"1.20.15", "1.38.0", "2.30.0"} {
		_, err := Kubeadm(&spec.Cluster{KubernetesVersion: v, Kubeadm: &spec.Kubeadm{}})
		if err == nil || !strings.Contains(err.Error(), "kprov does not know kubeadm") {
			t.Errorf("%s: %v, want an unknown-minor error", v, err)
		}
		if _, err := Pause(&spec.Cluster{KubernetesVersion: v}); err == nil {
			t.Errorf("%s: Pause without error", v)
		}
	}
	if _, err := Kubeadm(&spec.Cluster{KubernetesVersion: "latest"}); err == nil || !strings.Contains(err.Error(), "does not parse") {
		t.Errorf("latest: %v", err)
	}
}

// obj builds an unstructured object from JSON.
func obj(t testing.TB, src string) addons.Object {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(src), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func TestAddons(t *testing.T) {
	steps := []addons.Step{
		{Name: addons.StepCalico, Objects: []addons.Object{
			obj(t, `{"kind":"ConfigMap","metadata":{"name":"x"},"data":{"image":"not/an:image"}}`),
			obj(t, `{"kind":"DaemonSet","spec":{"template":{"spec":{
				"initContainers":[{"name":"cni","image":"calico/cni:v3.11.3"}],
				"containers":[{"name":"node","image":"calico/node:v3.11.3"}]}}}}`),
			obj(t, `{"kind":"Deployment","spec":{"template":{"spec":{
				"containers":[{"name":"a","image":"calico/cni:v3.11.3"},{"name":"b","image":"calico/kube-controllers:v3.11.3"}]}}}}`),
		}},
		{Name: addons.StepPool, Objects: []addons.Object{
			obj(t, `{"kind":"Pod","spec":{"containers":[{"image":"quay.io/metallb/speaker:v0.13.5"}]}}`),
		}},
		{Name: addons.StepIngress, Objects: []addons.Object{
			obj(t, `{"kind":"Job","spec":{"template":{"spec":{"containers":[{"image":"registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.4.1@sha256:36d05b4077fb8e3d13663702fa337f124675ba8667cbd949c03a8e8ea6fa4366"}]}}}}`),
			obj(t, `{"kind":"CronJob","spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"busybox:1.36"}]}}}}}}`),
			obj(t, `{"kind":"StatefulSet","spec":{"template":{"spec":{"containers":[{"image":"calico/node:v3.11.3"}]}}}}`),
			obj(t, `{"kind":"ReplicaSet","spec":{"template":{"spec":{"containers":[{"name":"no image"}]}}}}`),
		}},
	}
	want := []Image{
		{Ref: "calico/cni:v3.11.3", Source: "addons/calico"},
		{Ref: "calico/node:v3.11.3", Source: "addons/calico"},
		{Ref: "calico/kube-controllers:v3.11.3", Source: "addons/calico"},
		{Ref: "quay.io/metallb/speaker:v0.13.5", Source: "addons/load-balancer"},
		{Ref: "registry.k8s.io/ingress-nginx/kube-webhook-certgen:v1.4.1@sha256:36d05b4077fb8e3d13663702fa337f124675ba8667cbd949c03a8e8ea6fa4366", Source: "addons/ingress"},
		{Ref: "busybox:1.36", Source: "addons/ingress"},
		{Ref: "calico/node:v3.11.3", Source: "addons/ingress"},
	}
	if got := Addons(steps); !reflect.DeepEqual(got, want) {
		t.Errorf("Addons:\n got %+v\nwant %+v", got, want)
	}

	c := load(t, clusterHCL("1.30.14", ""))
	lock := digests{"registry.k8s.io/pause:3.9": "sha256:" + strings.Repeat("a", 64), "calico/node:v3.11.3": "sha256:" + strings.Repeat("b", 64)}
	all, err := List(c, steps, lock)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 7+6 {
		t.Errorf("List has %d images, want 13 (7 kubeadm, 6 distinct addon images):\n%+v", len(all), all)
	}
	seen := map[string]bool{}
	for i, img := range all {
		if seen[img.Ref] {
			t.Errorf("%s listed twice", img.Ref)
		}
		seen[img.Ref] = true
		if (i < 7) != (img.Source == SourceKubeadm) {
			t.Errorf("%d: %+v: kubeadm's come first", i, img)
		}
		want := lock[img.Ref]
		if strings.Contains(img.Ref, "@") {
			want = "sha256:36d05b4077fb8e3d13663702fa337f124675ba8667cbd949c03a8e8ea6fa4366"
		}
		if img.Digest != want {
			t.Errorf("%s: digest %q, want %q", img.Ref, img.Digest, want)
		}
	}
	if n, _ := List(c, steps, nil); !reflect.DeepEqual(refs(n), refs(all)) {
		t.Error("List's order depends on the lock")
	}
}

type digests map[string]string

func (d digests) Digest(ref string) (string, bool) {
	v, ok := d[ref]
	return v, ok
}

// TestAddonsUpstream: the images of the upstream Calico v3.11 and
// ingress-nginx manifests, after kprov's image_registry rewrite.
func TestAddonsUpstream(t *testing.T) {
	calicoPath, calico := judge.Upstream(t, "calico/v3.11/calico.yaml")
	ingressPath, ingress := judge.Upstream(t, "ingress-nginx/v0.30.0/deploy/static/mandatory.yaml")
	for _, tc := range []struct {
		registry string
		want     []Image
	}{
		{"", []Image{
			{Ref: "calico/cni:v3.11.3", Source: "addons/calico"},
			{Ref: "calico/pod2daemon-flexvol:v3.11.3", Source: "addons/calico"},
			{Ref: "calico/node:v3.11.3", Source: "addons/calico"},
			{Ref: "calico/kube-controllers:v3.11.3", Source: "addons/calico"},
			{Ref: "quay.io/kubernetes-ingress-controller/nginx-ingress-controller:0.30.0", Source: "addons/ingress"},
		}},
		{"registry.lab:5000", []Image{
			{Ref: "registry.lab:5000/calico/cni:v3.11.3", Source: "addons/calico"},
			{Ref: "registry.lab:5000/calico/pod2daemon-flexvol:v3.11.3", Source: "addons/calico"},
			{Ref: "registry.lab:5000/calico/node:v3.11.3", Source: "addons/calico"},
			{Ref: "registry.lab:5000/calico/kube-controllers:v3.11.3", Source: "addons/calico"},
			{Ref: "quay.io/kubernetes-ingress-controller/nginx-ingress-controller:0.30.0", Source: "addons/ingress"},
		}},
	} {
		extra := `calico {
    manifest = "` + calicoPath + `"
    version  = "v3.11.3"
    image_registry = "` + tc.registry + `"
  }
  ingress {
    manifest      = "` + ingressPath + `"
    load_balancer = "none"
  }`
		if tc.registry == "" {
			extra = strings.Replace(extra, `image_registry = ""`, "", 1)
		}
		c := load(t, clusterHCL("1.21.14", extra))
		steps, err := addons.Build(c, map[string]addons.Manifest{
			addons.CalicoManifest:  {Source: calicoPath, Data: calico},
			addons.IngressManifest: {Source: ingressPath, Data: ingress},
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := Addons(steps); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("registry %q:\n got %+v\nwant %+v", tc.registry, got, tc.want)
		}
	}
}

func TestForNode(t *testing.T) {
	imgs := []Image{
		{Ref: "registry.k8s.io/kube-apiserver:v1.30.14", Source: SourceKubeadm},
		{Ref: "registry.k8s.io/kube-controller-manager:v1.30.14", Source: SourceKubeadm},
		{Ref: "registry.k8s.io/kube-scheduler:v1.30.14", Source: SourceKubeadm},
		{Ref: "registry.k8s.io/kube-proxy:v1.30.14", Source: SourceKubeadm},
		{Ref: "registry.k8s.io/pause:3.9", Source: SourceKubeadm},
		{Ref: "registry.k8s.io/etcd:3.5.15-0", Source: SourceKubeadm},
		{Ref: "registry.k8s.io/coredns/coredns:v1.11.3", Source: SourceKubeadm},
		{Ref: "docker.io/calico/node:v3.28.5", Source: "addons/calico"},
		{Ref: "docker.io/example/etcd:1", Source: "addons/ingress"},
		{Ref: KubeVIP, Source: SourceKubeVIP},
	}
	if got := ForNode(imgs, true); len(got) != len(imgs) {
		t.Errorf("a control plane pulls %d of %d images", len(got), len(imgs))
	}
	var refs []string
	for _, img := range ForNode(imgs, false) {
		refs = append(refs, img.Ref)
	}
	want := "registry.k8s.io/kube-proxy:v1.30.14 registry.k8s.io/pause:3.9 registry.k8s.io/coredns/coredns:v1.11.3 docker.io/calico/node:v3.28.5 docker.io/example/etcd:1"
	if strings.Join(refs, " ") != want {
		t.Errorf("a worker pulls %v\nwant %s", refs, want)
	}
}

// kube-vip is listed (for the control planes) only when the cluster has a
// shared API address.
func TestListKubeVIP(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		want        bool
	}{
		{"one control plane", "", false},
		{"api_vip written", `network { api_vip = "10.17.0.10" }`, true},
		{"three control planes", `node_pool "more" {
    role  = "control-plane"
    count = 2
  }`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imgs, err := List(load(t, clusterHCL("1.30.14", tc.extra)), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(refs(imgs), KubeVIP); got != tc.want {
				t.Errorf("kube-vip listed: %v, want %v (%v)", got, tc.want, refs(imgs))
			}
		})
	}
}
