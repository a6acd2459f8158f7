package main

import (
	"os"
	"strings"
	"testing"
)

func sampleImage() Image {
	bin := &Binary{Name: "etcd", Kind: "module", Module: "go.etcd.io/etcd/server/v3", Version: "v3.5.15",
		Package: "go.etcd.io/etcd/server/v3", Flags: "-s -w", Inputs: []string{"go go1.26.8", "CGO_ENABLED=0"}}
	return Image{
		Ref: "registry.k8s.io/etcd:3.5.15-0",
		Layers: []Layer{
			{Name: "base", Files: []File{{Path: "etc/passwd", Kind: Regular, Mode: 0o644, Data: []byte("root:x:0:0::/:\n")}}},
			{Name: "etcd", Files: []File{exe("usr/local/bin/etcd", bin)}},
			{Name: "debian", Rootfs: &Rootfs{Suite: "bookworm", Packages: []string{"iptables"}, Script: "sha256:aa"}},
		},
		Config: Config{Cmd: []string{"/usr/local/bin/etcd"}, Env: []string{pathEnv}},
	}
}

func TestKeyChangesWithRecipe(t *testing.T) {
	base := sampleImage()
	if base.Key() != sampleImage().Key() {
		t.Fatal("the same recipe gave two keys")
	}
	renamed := sampleImage()
	renamed.Ref = "example.org/etcd:1"
	if renamed.Key() != base.Key() {
		t.Error("the image's name changed its key: one recipe under two names must be one image")
	}
	changes := map[string]func(*Image){
		"module version":  func(i *Image) { i.Layers[1].Files[0].Bin.Version = "v3.5.16" },
		"ldflags":         func(i *Image) { i.Layers[1].Files[0].Bin.Flags = "-s" },
		"package":         func(i *Image) { i.Layers[1].Files[0].Bin.Package = "go.etcd.io/etcd/etcdctl/v3" },
		"toolchain":       func(i *Image) { i.Layers[1].Files[0].Bin.Inputs[0] = "go go1.26.9" },
		"builder":         func(i *Image) { i.Layers[1].Files[0].Bin.Kind = "calico" },
		"file content":    func(i *Image) { i.Layers[0].Files[0].Data = []byte("root:x:0:0::/root:\n") },
		"file mode":       func(i *Image) { i.Layers[0].Files[0].Mode = 0o600 },
		"file owner":      func(i *Image) { i.Layers[0].Files[0].UID = 1 },
		"file path":       func(i *Image) { i.Layers[1].Files[0].Path = "bin/etcd" },
		"xattr":           func(i *Image) { i.Layers[1].Files[0].Xattrs = map[string][]byte{"security.capability": fileCaps(10)} },
		"debian packages": func(i *Image) { i.Layers[2].Rootfs.Packages = append(i.Layers[2].Rootfs.Packages, "ipset") },
		"rootfs script":   func(i *Image) { i.Layers[2].Rootfs.Script = "sha256:bb" },
		"layer order":     func(i *Image) { i.Layers[0], i.Layers[1] = i.Layers[1], i.Layers[0] },
		"layer dropped":   func(i *Image) { i.Layers = i.Layers[:2] },
		"entrypoint":      func(i *Image) { i.Config.Entrypoint = []string{"/bin/sh"} },
		"user":            func(i *Image) { i.Config.User = "65532" },
		"env":             func(i *Image) { i.Config.Env = append(i.Config.Env, "A=b") },
	}
	seen := map[string]string{base.Key(): "base"}
	for name, change := range changes {
		img := sampleImage()
		change(&img)
		k := img.Key()
		if other, dup := seen[k]; dup {
			t.Errorf("changing the %s left the key of %s: %s", name, other, k)
		}
		seen[k] = name
	}
}

func TestLayerKeyIsItsRecipeOnly(t *testing.T) {
	a, b := sampleImage(), sampleImage()
	b.Layers[1].Files[0].Bin.Flags = "-s"
	if a.Layers[0].Key() != b.Layers[0].Key() {
		t.Error("a change in one layer changed another layer's key: the shared layer would be rebuilt")
	}
	if a.Layers[1].Key() == b.Layers[1].Key() {
		t.Error("the changed layer kept its key")
	}
}

func TestFileCaps(t *testing.T) {
	// getcap/setcap's bytes for cap_net_bind_service=ep (revision 2).
	want := []byte{1, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if got := fileCaps(capNetBindService); string(got) != string(want) {
		t.Errorf("fileCaps(NET_BIND_SERVICE) = %v, want %v", got, want)
	}
}

func TestRecipesAreDistinctAndParse(t *testing.T) {
	seen := map[string]bool{}
	kube := true // Kubernetes' images go first
	for _, r := range Recipes() {
		ref, err := ParseRef(r.ref)
		if err != nil {
			t.Fatal(err)
		}
		if seen[ref.String()] {
			t.Errorf("%s has two recipes", r.ref)
		}
		seen[ref.String()] = true
		isKube := ref.Host == "registry.k8s.io" || ref.Host == "k8s.gcr.io"
		if isKube && !kube && !strings.Contains(r.ref, "agnhost") {
			t.Errorf("%s comes after other images: Kubernetes' go first", r.ref)
		}
		kube = kube && isKube
	}
	for _, want := range []string{"registry.k8s.io/kube-apiserver:v1.30.14", "registry.k8s.io/pause:3.9",
		"registry.k8s.io/etcd:3.5.15-0", "registry.k8s.io/coredns/coredns:v1.11.3",
		"registry.k8s.io/kube-apiserver:v1.30.4", "registry.k8s.io/etcd:3.5.12-0", "registry.k8s.io/coredns/coredns:v1.11.1",
		"k8s.gcr.io/kube-apiserver:v1.21.14", "k8s.gcr.io/pause:3.4.1", "k8s.gcr.io/etcd:3.4.13-0",
		"k8s.gcr.io/coredns/coredns:v1.8.0", "docker.io/calico/node:v3.28.5",
		"quay.io/metallb/controller:v0.15.2", "quay.io/metallb/speaker:v0.15.2", "docker.io/library/traefik:v3.6.12"} {
		if !seen[want] {
			t.Errorf("no recipe for %s", want)
		}
	}
}

// TestAddonImagesHaveRecipes checks that every image MetalLB's manifest
// names, and Traefik's image as kprov's Deployment names it, select a
// recipe.
func TestAddonImagesHaveRecipes(t *testing.T) {
	b, err := NewEnv("../../..", t.TempDir(), os.Stderr).ReadModuleFile(metallbModule, metallbVersion, "config/manifests/metallb-native.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var images []string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "image: "); ok {
			images = append(images, strings.Trim(v, `"'`))
		}
	}
	if len(images) != 2 {
		t.Fatalf("metallb-native.yaml names %d images (%v), want the controller and the speaker", len(images), images)
	}
	images = append(images, "docker.io/traefik:v3.6.12")
	got, err := Select(Recipes(), images)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(images) {
		t.Errorf("%v selected %d recipes", images, len(got))
	}
}
