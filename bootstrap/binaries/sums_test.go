package binaries

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/provision/spec"
)

func TestSourcesUpstream(t *testing.T) {
	c := loadSpec(t, "../../examples/modern.hcl")
	c.Artifacts.Mirror = ""
	got := Sources(c)
	if len(got) != 4 {
		t.Fatalf("%d sources, want 4", len(got))
	}
	want := "https://dl.k8s.io/release/" + c.KubernetesVersion + "/bin/linux/amd64/kubelet"
	if b := got[1]; b.Name != "kubelet" || b.URL != want || b.SHA256URL != want+".sha256" || b.Path != "/usr/local/bin/kubelet" {
		t.Errorf("kubelet: %+v, want URL %s", b, want)
	}
}

func TestSourcesMirror(t *testing.T) {
	c := loadLab(t)
	for _, mirror := range []string{"http://10.77.0.1:8080", "http://10.77.0.1:8080/", "http://10.77.0.1:8080//"} {
		c.Artifacts.Mirror = mirror
		b := Sources(c)[0]
		want := "http://10.77.0.1:8080/release/v1.21.14/bin/linux/amd64/kubeadm"
		if b.URL != want || b.SHA256URL != want+".sha256" {
			t.Errorf("mirror %q: %+v, want %s", mirror, b, want)
		}
	}
	c.Artifacts.Mirror = "https://m.example/k8s"
	if got := Sources(c)[2].URL; got != "https://m.example/k8s/release/v1.21.14/bin/linux/amd64/kubectl" {
		t.Errorf("mirror with a path: %s", got)
	}
}

// TestCrictlSources: crictl is the fourth binary, a tarball of the
// cri-tools release v1.MINOR.0 unless the spec sets crictl_version, under
// GitHub's release layout upstream and under MIRROR/cri-tools/ with a mirror.
func TestCrictlSources(t *testing.T) {
	crictl := func(c *spec.Cluster) Binary {
		t.Helper()
		src := Sources(c)
		b := src[len(src)-1]
		if b.Name != "crictl" || b.Member != "crictl" || b.Path != "/usr/local/bin/crictl" || b.SHA256URL != b.URL+".sha256" {
			t.Fatalf("last source %+v, want crictl", b)
		}
		return b
	}
	lab := loadLab(t)
	lab.Artifacts.CrictlVersion = "" // the default: v1.MINOR.0
	for _, mirror := range []string{"http://10.77.0.1:8080", "http://10.77.0.1:8080/"} {
		lab.Artifacts.Mirror = mirror
		if b := crictl(lab); b.Version != "v1.21.0" || b.URL != "http://10.77.0.1:8080/cri-tools/v1.21.0/crictl-v1.21.0-linux-amd64.tar.gz" {
			t.Errorf("lab, mirror %q: %+v", mirror, b)
		}
	}
	lab.Artifacts.Mirror = ""
	if b := crictl(lab); b.URL != "https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.21.0/crictl-v1.21.0-linux-amd64.tar.gz" {
		t.Errorf("lab upstream: %s", b.URL)
	}

	modern := loadSpec(t, "../../examples/modern.hcl")
	minor := strings.Join(strings.Split(modern.KubernetesVersion, ".")[:2], ".")
	if b := crictl(modern); b.Version != minor+".0" || b.URL != CriToolsUpstream+"/"+minor+".0/crictl-"+minor+".0-linux-amd64.tar.gz" {
		t.Errorf("modern (%s): %+v, want crictl %s.0", modern.KubernetesVersion, b, minor)
	}

	set := loadSpec(t, "testdata/crictl-version.hcl")
	if b := crictl(set); b.Version != "v1.30.0" || b.URL != "https://github.com/kubernetes-sigs/cri-tools/releases/download/v1.30.0/crictl-v1.30.0-linux-amd64.tar.gz" {
		t.Errorf("crictl_version = \"1.30.0\": %+v", b)
	}
	pins := Pins(set)
	if p := pins[indexOf(pins, "crictl")]; p.SHA256 != sumD || p.Origin != FromSpec || p.Source != crictl(set).URL {
		t.Errorf("crictl pin %+v, want the spec's sha256", p)
	}

	// A cluster built by hand, never normalized, still gets the default.
	if got := CrictlVersion(&spec.Cluster{KubernetesVersion: "v1.33.2"}); got != "v1.33.0" {
		t.Errorf("CrictlVersion without artifacts = %q", got)
	}
}

// fakeFetcher serves sums by URL and counts requests.
type fakeFetcher struct {
	bodies map[string]string
	gets   []string
}

func (f *fakeFetcher) Fetch(_ context.Context, url string) ([]byte, error) {
	f.gets = append(f.gets, url)
	b, ok := f.bodies[url]
	if !ok {
		return nil, errors.New("404")
	}
	return []byte(b), nil
}

var (
	sumA = strings.Repeat("a", 64)
	sumB = strings.Repeat("b", 64)
	sumC = strings.Repeat("c", 64)
	sumD = strings.Repeat("d", 64)
)

// TestPrecedence: the spec's pin beats the lock, the lock beats the
// published sum, which is fetched only when neither has one.
func TestPrecedence(t *testing.T) {
	c := loadLab(t)
	c.Artifacts.SHA256 = map[string]string{"kubeadm": strings.ToUpper(sumA)}
	src := Sources(c)
	lock := lockfile.New(
		lockfile.Entry{Name: "kubeadm", Source: src[0].URL, SHA256: sumB},
		lockfile.Entry{Name: "kubelet", Source: src[1].URL, SHA256: sumB},
		lockfile.Entry{Name: "kubectl", Source: "http://elsewhere/kubectl", SHA256: sumB},
	)
	// The crictl tarball's sum is published as a sha256sum line.
	f := &fakeFetcher{bodies: map[string]string{src[2].SHA256URL: sumC, src[0].SHA256URL: sumC, src[1].SHA256URL: sumC,
		src[3].SHA256URL: sumD + "  crictl-v1.21.0-linux-amd64.tar.gz\n"}}
	pins, err := Resolve(context.Background(), f, Expect(Pins(c), lock))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		sum    string
		origin Origin
	}{
		"kubeadm": {sumA, FromSpec}, "kubelet": {sumB, FromLock}, "kubectl": {sumC, FromPublished}, "crictl": {sumD, FromPublished},
		"image": {"", ""}, "calico": {"", ""}, "ingress": {"", ""}, "load-balancer": {"", ""},
	}
	for _, p := range pins {
		w, ok := want[p.Name]
		if !ok || p.SHA256 != w.sum || p.Origin != w.origin {
			t.Errorf("%s: sha256 %q from %q, want %q from %q", p.Name, p.SHA256, p.Origin, w.sum, w.origin)
		}
		delete(want, p.Name)
	}
	if len(want) > 0 {
		t.Errorf("missing pins: %v", want)
	}
	if len(f.gets) != 2 || f.gets[0] != src[2].SHA256URL || f.gets[1] != src[3].SHA256URL {
		t.Errorf("fetched %v, want only kubectl's and crictl's sums", f.gets)
	}
	if open := Open(pins); len(open) != 4 {
		t.Errorf("open pins %v, want image, calico, ingress and load-balancer (hashed by their callers)", open)
	}
}

func TestResolveErrors(t *testing.T) {
	c := loadLab(t)
	f := &fakeFetcher{bodies: map[string]string{Sources(c)[0].SHA256URL: "<html>not found</html>"}}
	_, err := Resolve(context.Background(), f, Pins(c))
	if err == nil || !strings.Contains(err.Error(), "kubeadm") || !strings.Contains(err.Error(), "not a sha256") {
		t.Errorf("garbage sum: %v", err)
	}
}

func TestParseSum(t *testing.T) {
	for _, ok := range []string{sumA, sumA + "\n", sumA + "  kubeadm\n", strings.ToUpper(sumA)} {
		if got, err := ParseSum([]byte(ok)); err != nil || got != sumA {
			t.Errorf("ParseSum(%q) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"", "\n", sumA[:63], sumA + "  a  b", "sha256:" + sumA, strings.Repeat("g", 64)} {
		if got, err := ParseSum([]byte(bad)); err == nil {
			t.Errorf("ParseSum(%q) = %q, want an error", bad, got)
		}
	}
}

func TestHTTPFetcher(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok.sha256":
			w.Write([]byte(sumA))
		case "/big.sha256":
			w.Write([]byte(strings.Repeat("x", maxSumFile+1)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	if b, err := (HTTPFetcher{}).Fetch(ctx, srv.URL+"/ok.sha256"); err != nil || string(b) != sumA {
		t.Errorf("ok: %q, %v", b, err)
	}
	if _, err := (HTTPFetcher{}).Fetch(ctx, srv.URL+"/missing.sha256"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("404: %v", err)
	}
	if _, err := (HTTPFetcher{}).Fetch(ctx, srv.URL+"/big.sha256"); err == nil {
		t.Error("an oversized body was accepted")
	}
}
