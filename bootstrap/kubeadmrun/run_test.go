package kubeadmrun

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/provision/state"
)

// fakeNode is a node as a map of files and a record of commands; it runs
// the few shell forms this package uses. Real nodes are covered by the
// dry run in bootstrap/nodepreprun's VM tests.
type fakeNode struct {
	files    map[string]string
	ran      []string
	tokens   string
	uploaded map[string]fs.FileMode
	fail     bool
}

func newFake() *fakeNode {
	return &fakeNode{files: map[string]string{}, uploaded: map[string]fs.FileMode{}}
}

func (f *fakeNode) Name() string { return "cp-1" }

func (f *fakeNode) Run(_ context.Context, cmd string) (string, error) {
	f.ran = append(f.ran, cmd)
	switch {
	case strings.HasPrefix(cmd, "test -e "):
		path := strings.Fields(cmd)[2]
		if _, ok := f.files[strings.Trim(path, "'")]; ok {
			return "yes\n", nil
		}
		return "no\n", nil
	case strings.HasPrefix(cmd, "cat "):
		return f.files[strings.Fields(cmd)[1]], nil
	case strings.HasPrefix(cmd, "kubeadm token list"):
		return f.tokens, nil
	case strings.HasPrefix(cmd, "touch "):
		f.files[strings.Fields(cmd)[1]] = ""
	case strings.HasPrefix(cmd, "kubeadm init"):
		f.files[AdminConf] = "admin" // written before kubeadm's last phases
		if f.fail {
			return "", errors.New("wait-control-plane: timed out")
		}
	case strings.HasPrefix(cmd, "kubeadm reset -f"):
		delete(f.files, AdminConf)
		delete(f.files, KubeletConf)
	case strings.HasPrefix(cmd, "if [ -e "):
		// Leftovers' probe.
		done := strings.Trim(strings.Fields(cmd)[3], "'")
		if _, ok := f.files[done]; ok {
			return "done\n", nil
		}
		if _, ok := f.files[AdminConf]; ok {
			return "leftovers\n", nil
		}
		if _, ok := f.files[KubeletConf]; ok {
			return "leftovers\n", nil
		}
	}
	return "", nil
}

func (f *fakeNode) Upload(_ context.Context, path string, data []byte, mode fs.FileMode) error {
	f.files[path] = string(data)
	f.uploaded[path] = mode
	return nil
}

func (f *fakeNode) Download(_ context.Context, path string) ([]byte, error) {
	return []byte(f.files[path]), nil
}

func ran(f *fakeNode, prefix string) int {
	n := 0
	for _, c := range f.ran {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func TestInitOnceWithSecretConfig(t *testing.T) {
	f := newFake()
	ctx := context.Background()
	did, err := Init(ctx, f, []byte("cfg with token"), nil)
	if err != nil || !did || ran(f, "kubeadm init --config "+InitConfig+" --upload-certs") != 1 {
		t.Fatalf("first init: %v %v %v", did, err, f.ran)
	}
	if f.uploaded[InitConfig] != 0o600 {
		t.Errorf("init config mode %v, want 0600", f.uploaded[InitConfig])
	}
	did, err = Init(ctx, f, []byte("cfg with token"), nil)
	if err != nil || did || ran(f, "kubeadm init") != 1 {
		t.Errorf("an initialised node was initialised again: %v %v", did, err)
	}
}

func TestJoinOnce(t *testing.T) {
	f := newFake()
	ctx := context.Background()
	if did, err := Join(ctx, f, []byte("join"), nil); err != nil || !did {
		t.Fatalf("join: %v %v", did, err)
	}
	if did, err := Join(ctx, f, []byte("join"), nil); err != nil || did || ran(f, "kubeadm join") != 1 {
		t.Errorf("a joined node joined again: %v %v", did, err)
	}
}

func TestPlaceCA(t *testing.T) {
	f := newFake()
	s := &state.Secrets{CACert: []byte("CERT"), CAKey: []byte("KEY")}
	ctx := context.Background()
	if placed, err := PlaceCA(ctx, f, s); err != nil || !placed || f.uploaded[CAKey] != 0o600 || f.files[CACert] != "CERT" {
		t.Fatalf("place: %v %v %v", placed, err, f.uploaded)
	}
	if placed, err := PlaceCA(ctx, f, s); err != nil || placed {
		t.Errorf("placed twice: %v %v", placed, err)
	}
	f.files[CACert] = "ANOTHER"
	if _, err := PlaceCA(ctx, f, s); err == nil || !strings.Contains(err.Error(), "already has another cluster CA") {
		t.Errorf("a foreign CA: %v", err)
	}
}

func TestEnsureToken(t *testing.T) {
	f := newFake()
	ctx := context.Background()
	token := "abcdef.0123456789abcdef"
	f.tokens = "TOKEN                     TTL   EXPIRES   USAGES\nzzzzzz.0000000000000000   23h   2026-11-27T00:00:00Z   authentication,signing\n"
	if made, err := EnsureToken(ctx, f, token); err != nil || !made || ran(f, "kubeadm token create --kubeconfig "+AdminConf+" --ttl 24h abcdef.0123456789abcdef") != 1 {
		t.Fatalf("expired token not re-created: %v %v %v", made, err, f.ran)
	}
	f.tokens = "TOKEN                     TTL   EXPIRES   USAGES\nabcdef.0123456789abcdef   23h   2026-11-27T00:00:00Z   authentication,signing\n"
	if made, err := EnsureToken(ctx, f, token); err != nil || made {
		t.Errorf("a live token was re-created: %v %v", made, err)
	}
	if _, err := EnsureToken(ctx, f, "malformed"); err == nil {
		t.Error("a malformed token was accepted")
	}
}

// A kubeadm init that failed after writing admin.conf is not taken for
// done: Leftovers resets the node and the next Init runs kubeadm again.
func TestUnfinishedInitIsUndone(t *testing.T) {
	f := newFake()
	ctx := context.Background()
	if undone, err := Leftovers(ctx, f, InitDone); err != nil || undone {
		t.Fatalf("fresh node: undone %v %v", undone, err)
	}
	f.fail = true
	if did, err := Init(ctx, f, []byte("cfg"), nil); err == nil || did {
		t.Fatalf("failing init: %v %v", did, err)
	}
	undone, err := Leftovers(ctx, f, InitDone)
	if err != nil || !undone || ran(f, "kubeadm reset -f") != 1 {
		t.Fatalf("leftovers of a failed init: %v %v %v", undone, err, f.ran)
	}
	f.fail = false
	if did, err := Init(ctx, f, []byte("cfg"), nil); err != nil || !did || ran(f, "kubeadm init") != 2 {
		t.Fatalf("init after reset: %v %v", did, err)
	}
	if undone, err := Leftovers(ctx, f, InitDone); err != nil || undone || ran(f, "kubeadm reset -f") != 1 {
		t.Errorf("a finished init was reset: %v %v", undone, err)
	}
}

func TestInitPlacesPatches(t *testing.T) {
	ctx := context.Background()
	f := newFake()
	patches := map[string]string{"kube-apiserver.yaml": "spec: {}", "etcd+json.yaml": "[]"}
	if did, err := Init(ctx, f, []byte("cfg"), patches); err != nil || !did {
		t.Fatalf("Init: %v, %v", did, err)
	}
	if ran(f, "rm -rf "+PatchesDir+" && mkdir -p -m 0700 "+PatchesDir) != 1 {
		t.Errorf("patches folder not made afresh: %q", f.ran)
	}
	for name, body := range patches {
		p := PatchesDir + "/" + name
		if f.files[p] != body || f.uploaded[p] != 0o600 {
			t.Errorf("%s: %q mode %v", p, f.files[p], f.uploaded[p])
		}
	}
	if did, err := Join(ctx, newFake(), []byte("join"), map[string]string{"../x.yaml": "a: b"}); err == nil || did {
		t.Errorf("a patch name with a path was accepted")
	}
	if PatchesDir != kubeadm.PatchesDir {
		t.Errorf("PatchesDir %s, the configurations name %s", PatchesDir, kubeadm.PatchesDir)
	}
}
