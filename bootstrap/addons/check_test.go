package addons_test

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kprov/kprov/bootstrap/addons"
)

// setImage sets the image of a container (or init container) of the
// workload kind/name: the test's edit of an upstream manifest.
func setImage(t testing.TB, objs []addons.Object, kind, name, container, image string) {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != kind || o.GetName() != name {
			continue
		}
		for _, field := range []string{"initContainers", "containers"} {
			cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
			for _, c := range cs {
				if m := c.(map[string]any); m["name"] == container {
					m["image"] = image
					if err := unstructured.SetNestedSlice(o.Object, cs, "spec", "template", "spec", field); err != nil {
						t.Fatal(err)
					}
					return
				}
			}
		}
	}
	t.Fatalf("no container %s in %s %s", container, kind, name)
}

// Calico's node, cni and kube-controllers images must be the spec's
// calico.version; the error names the images and the version.
func TestCheckCalicoVersion(t *testing.T) {
	v311, cur := upstream(t, calicoV311), fromProxy(t, calicoCurrent)
	digest := "calico/node@sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name    string
		m       addons.Manifest
		version string
		edit    func([]addons.Object)
		want    string // the error, "" for none
	}{
		{"v3.11 as upstream", v311, "v3.11.3", nil, ""},
		{"version without v", v311, "3.11.3", nil, ""},
		{"current as upstream", cur, "v3.28.5", nil, ""},
		{"spec names another release", v311, "v3.11.2", nil,
			v311.Source + ` runs calico/cni:v3.11.3, calico/node:v3.11.3, calico/kube-controllers:v3.11.3, but calico.version is v3.11.2. Set calico.version = "v3.11.3" to match the manifest, or name the manifest of v3.11.2.`},
		{"node image edited", v311, "v3.11.3", func(o []addons.Object) {
			setImage(t, o, "DaemonSet", "calico-node", "calico-node", "calico/node:v3.11.2")
		}, v311.Source + ` runs calico/node:v3.11.2, but calico.version is v3.11.3. Set calico.version = "v3.11.2" to match the manifest, or name the manifest of v3.11.3.`},
		{"mirrored kube-controllers edited", cur, "v3.28.5", func(o []addons.Object) {
			setImage(t, o, "Deployment", "calico-kube-controllers", "calico-kube-controllers", "registry.lab:5000/mirror/calico/kube-controllers:v3.29.0")
		}, cur.Source + ` runs registry.lab:5000/mirror/calico/kube-controllers:v3.29.0, but calico.version is v3.28.5. Set calico.version = "v3.29.0" to match the manifest, or name the manifest of v3.28.5.`},
		{"cni by digest only", v311, "v3.11.3", func(o []addons.Object) {
			setImage(t, o, "DaemonSet", "calico-node", "install-cni", digest)
		}, v311.Source + " runs " + digest + ", but calico.version is v3.11.3. Name the manifest of Calico v3.11.3."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := decode(t, tc.m)
			if tc.edit != nil {
				tc.edit(objs)
			}
			err := addons.CheckCalicoVersion(tc.m.Source, objs, tc.version)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// Build refuses a Calico manifest of another release than the spec's
// before anything is applied.
func TestBuildRefusesOtherCalicoRelease(t *testing.T) {
	c := load(t, example(t, "cluster"))
	m := manifests(t, false)
	m[addons.CalicoManifest] = fromProxy(t, calicoCurrent)
	_, err := addons.Build(c, m)
	var ve *addons.VersionError
	if !errors.As(err, &ve) || ve.Version != "v3.11.3" || len(ve.Images) != 3 {
		t.Fatalf("got %v", err)
	}
}
