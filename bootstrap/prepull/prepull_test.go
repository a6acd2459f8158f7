package prepull

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/registry"
	"github.com/kprov/kprov/bootstrap/remote"
)

// fakeNode is a containerd that holds tags and pulls from a set of
// "registry" digests; curl answers for reachable URLs.
type fakeNode struct {
	name      string
	have      map[string]string // normalized tag -> digest
	registry  map[string]string // normalized tag -> digest the mirror serves
	reachable map[string]bool
	cmds      []string
}

func (f *fakeNode) Name() string { return f.name }
func (f *fakeNode) Upload(context.Context, string, []byte, fs.FileMode) error {
	return errors.New("unexpected upload")
}
func (f *fakeNode) Download(context.Context, string) ([]byte, error) {
	return nil, errors.New("unexpected download")
}

func (f *fakeNode) Run(_ context.Context, cmd string) (string, error) {
	f.cmds = append(f.cmds, cmd)
	switch {
	case cmd == "crictl images -o json":
		var b strings.Builder
		b.WriteString(`{"images":[`)
		i := 0
		for tag, d := range f.have {
			if i > 0 {
				b.WriteString(",")
			}
			i++
			repo := tag[:strings.LastIndex(tag, ":")]
			b.WriteString(`{"id":"sha256:x","repoTags":["` + tag + `"],"repoDigests":["` + repo + "@" + d + `"]}`)
		}
		b.WriteString("]}")
		return b.String(), nil
	case strings.HasPrefix(cmd, "crictl pull "):
		ref := strings.Trim(strings.TrimPrefix(cmd, "crictl pull "), "'")
		d, ok := f.registry[registry.Normalize(ref)]
		if !ok {
			return "", &remote.RunError{Node: f.name, Command: cmd, ExitCode: 1, Output: "not found"}
		}
		f.have[registry.Normalize(ref)] = d
		return "Image is up to date", nil
	case strings.HasPrefix(cmd, "curl "):
		for u := range f.reachable {
			if strings.Contains(cmd, u) {
				return "200", nil
			}
		}
		return "", &remote.RunError{Node: f.name, Command: cmd, ExitCode: 7, Output: "curl: (7) Failed to connect"}
	}
	return "", errors.New("unexpected command " + cmd)
}

var (
	dA = "sha256:" + strings.Repeat("a", 64)
	dB = "sha256:" + strings.Repeat("b", 64)
)

func lab() []registry.Upstream {
	return []registry.Upstream{
		{Name: "docker.io", Endpoints: []registry.Endpoint{{URL: "http://10.77.0.1:5000/v2/docker.io", OverridePath: true}}},
		{Name: "registry.k8s.io", Endpoints: []registry.Endpoint{{URL: "http://10.77.0.1:5000/v2/registry.k8s.io", OverridePath: true}}},
	}
}

func TestNodePullsMissingOnceAndReportsDigests(t *testing.T) {
	imgs := []images.Image{{Ref: "registry.k8s.io/pause:3.9"}, {Ref: "calico/node:v3.28.5"}}
	n := &fakeNode{name: "cp-1", have: map[string]string{"registry.k8s.io/pause:3.9": dA},
		registry:  map[string]string{"docker.io/calico/node:v3.28.5": dB},
		reachable: map[string]bool{"http://10.77.0.1:5000/v2/": true}}
	r, err := Node(context.Background(), n, imgs, lab())
	if err != nil {
		t.Fatal(err)
	}
	if r.Digests["registry.k8s.io/pause:3.9"] != dA || r.Digests["calico/node:v3.28.5"] != dB {
		t.Errorf("digests = %v", r.Digests)
	}
	if len(r.Pulled) != 1 || r.Pulled[0] != "calico/node:v3.28.5" {
		t.Errorf("pulled = %v, want only calico/node", r.Pulled)
	}
	// A second run lists once and pulls nothing.
	n.cmds = nil
	r, err = Node(context.Background(), n, imgs, lab())
	if err != nil || len(r.Pulled) != 0 || len(n.cmds) != 1 {
		t.Errorf("second run: err %v, pulled %v, commands %q", err, r.Pulled, n.cmds)
	}
}

func TestUnreachableMirrorIsOneClearError(t *testing.T) {
	imgs := []images.Image{{Ref: "registry.k8s.io/kube-apiserver:v1.30.14"}, {Ref: "registry.k8s.io/pause:3.9"}}
	n := &fakeNode{name: "worker-1", have: map[string]string{}, registry: map[string]string{}, reachable: map[string]bool{}}
	_, err := Node(context.Background(), n, imgs, lab())
	var me *MirrorError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want a MirrorError", err)
	}
	for _, want := range []string{"node worker-1", "registry.k8s.io/kube-apiserver:v1.30.14", "http://10.77.0.1:5000/v2/registry.k8s.io", "Failed to connect"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, c := range n.cmds {
		if strings.HasPrefix(c, "crictl pull") {
			t.Errorf("pulled although the mirror is down: %q", c)
		}
	}
}

func TestMirrorLackingImageNamesIt(t *testing.T) {
	imgs := []images.Image{{Ref: "registry.k8s.io/etcd:3.5.15-0"}}
	n := &fakeNode{name: "cp-1", have: map[string]string{}, registry: map[string]string{},
		reachable: map[string]bool{"http://10.77.0.1:5000/v2/": true}}
	_, err := Node(context.Background(), n, imgs, lab())
	if err == nil || !strings.Contains(err.Error(), "cannot pull registry.k8s.io/etcd:3.5.15-0 through the mirror http://10.77.0.1:5000/v2/registry.k8s.io") ||
		!strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheck(t *testing.T) {
	res := []Result{{Node: "cp-1", Digests: map[string]string{"p:1": dA}}, {Node: "w-1", Digests: map[string]string{"p:1": dA}}}
	if _, _, err := Check(res, []images.Image{{Ref: "p:1"}}, true); err == nil || !strings.Contains(err.Error(), "not pinned") {
		t.Errorf("locked, unpinned: %v", err)
	}
	pins, warn, err := Check(res, []images.Image{{Ref: "p:1"}}, false)
	if err != nil || pins["p:1"] != dA || len(warn) != 0 {
		t.Errorf("unpinned: pins %v warn %v err %v", pins, warn, err)
	}
	_, _, err = Check(res, []images.Image{{Ref: "p:1", Digest: dB}}, true)
	var de *DigestError
	if !errors.As(err, &de) || de.Node != "cp-1" || de.Got != dA || de.Pinned != dB {
		t.Fatalf("locked change: %v", err)
	}
	for _, want := range []string{"node cp-1", "p:1", dA, dB} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	pins, warn, err = Check(res, []images.Image{{Ref: "p:1", Digest: dB}}, false)
	if err != nil || pins["p:1"] != dA || len(warn) != 1 {
		t.Errorf("unlocked change: pins %v warn %v err %v", pins, warn, err)
	}
	res[1].Digests["p:1"] = dB
	if _, _, err := Check(res, []images.Image{{Ref: "p:1"}}, false); err == nil || !strings.Contains(err.Error(), "different content") {
		t.Errorf("nodes disagree: %v", err)
	}
}
