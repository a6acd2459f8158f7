package main

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestAgnhostIsTheSuites checks that the agnhost recipe is for the image
// the e2e suite of e2eRelease runs, read from its
// test/utils/image/manifest.go, and that the list selects it.
func TestAgnhostIsTheSuites(t *testing.T) {
	e := NewEnv("../../..", t.TempDir(), os.Stderr)
	b, err := e.ReadModuleFile("k8s.io/kubernetes", e2eRelease.kube, "test/utils/image/manifest.go")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	reg := regexp.MustCompile(`PromoterE2eRegistry:\s+"([^"]+)"`).FindStringSubmatch(src)
	cfg := regexp.MustCompile(`configs\[Agnhost\] = Config\{list\.PromoterE2eRegistry, "([^"]+)", "([^"]+)"\}`).FindStringSubmatch(src)
	if reg == nil || cfg == nil {
		t.Fatalf("manifest.go of %s names no agnhost image in the promoter registry (registry %v, config %v)", e2eRelease.kube, reg, cfg)
	}
	want := reg[1] + "/" + cfg[1] + ":" + cfg[2]
	if agnhostRef != want {
		t.Errorf("agnhostRef = %s, the suite of %s runs %s", agnhostRef, e2eRelease.kube, want)
	}
	got, err := Select(Recipes(), []string{want})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ref != agnhostRef {
		t.Errorf("%s selected %v", want, got)
	}
}

// TestAgnhostLayout checks the recipe against upstream's Dockerfile: the
// binary and its stamp, the files, the entrypoint and ports, the accounts,
// and a Debian layer of its own.
func TestAgnhostLayout(t *testing.T) {
	e := NewEnv("../../..", t.TempDir(), os.Stderr)
	img, err := agnhost(e)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Layers) != 2 || img.Layers[0].Rootfs == nil {
		t.Fatalf("want a Debian layer and a files layer, got %d layers", len(img.Layers))
	}
	shared, err := debianLayer(e)
	if err != nil {
		t.Fatal(err)
	}
	if img.Layers[0].Key() == shared.Key() {
		t.Error("agnhost's Debian layer is the shared one: it would change kube-proxy and calico-node")
	}
	r := img.Layers[0].Rootfs
	for _, p := range []string{"curl", "iputils-ping", "iproute2", "bind9-dnsutils", "netcat-openbsd", "ca-certificates", "wget"} {
		if !contains(r.Packages, p) {
			t.Errorf("Debian layer lacks %s", p)
		}
	}
	cmds, err := accountCommands(*r)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cmds[len(cmds)-1], " "); !strings.Contains(got, "--uid 1000") || !strings.Contains(got, "--groups group-defined-in-image") {
		t.Errorf("the last account command is %q, want user-defined-in-image 1000 in group-defined-in-image", got)
	}
	files := map[string]File{}
	for _, f := range img.Layers[1].Files {
		files[f.Path] = f
	}
	bin := files["agnhost"].Bin
	if bin == nil || bin.Kind != "kubernetes-package" || bin.Package != agnhostPackage || bin.Version != e2eRelease.kube {
		t.Fatalf("/agnhost is not agnhost of k8s.io/kubernetes %s: %+v", e2eRelease.kube, bin)
	}
	v, err := e.ReadModuleFile("k8s.io/kubernetes", e2eRelease.kube, "test/images/agnhost/VERSION")
	if err != nil {
		t.Fatal(err)
	}
	if want := "-X main.Version=" + strings.TrimSpace(string(v)); !strings.Contains(bin.Flags, want) {
		t.Errorf("flags %q lack %q", bin.Flags, want)
	}
	if l := files["agnhost-2"]; l.Kind != Symlink || l.Target != "agnhost" {
		t.Errorf("agnhost-2 = %+v, want a link to agnhost", l)
	}
	for _, p := range []string{"coredns", "localhost.crt", "localhost.key", "uploads", "usr/local/bin/iperf"} {
		if _, ok := files[p]; !ok {
			t.Errorf("no /%s", p)
		}
	}
	if !strings.Contains(string(files["localhost.key"].Data), "PRIVATE KEY") {
		t.Error("/localhost.key is not porter's key")
	}
	c := img.Config
	if !reflect.DeepEqual(c.Entrypoint, []string{"/agnhost"}) || !reflect.DeepEqual(c.Cmd, []string{"pause"}) {
		t.Errorf("entrypoint %v cmd %v, want [/agnhost] [pause]", c.Entrypoint, c.Cmd)
	}
	for _, p := range []string{"80/tcp", "8080/tcp"} {
		if !contains(c.Ports, p) {
			t.Errorf("port %s not exposed", p)
		}
	}
}

// TestRootfsKeyWithoutAccounts checks that a Debian layer without groups
// or users keeps the key it had before they existed (the shared layer and
// its images are not rebuilt).
func TestRootfsKeyWithoutAccounts(t *testing.T) {
	type oldRootfs struct {
		Suite    string   `json:"suite"`
		Packages []string `json:"packages"`
		Script   string   `json:"script"`
	}
	type oldLayer struct {
		Name   string     `json:"name"`
		Files  []File     `json:"files,omitempty"`
		Rootfs *oldRootfs `json:"rootfs,omitempty"`
	}
	l := Layer{Name: "debian-bookworm", Rootfs: &Rootfs{Suite: "bookworm", Packages: debianPackages, Script: "sha256:aa"}}
	old := oldLayer{Name: "debian-bookworm", Rootfs: &oldRootfs{Suite: "bookworm", Packages: debianPackages, Script: "sha256:aa"}}
	if l.Key() != key(old) {
		a, _ := json.Marshal(l)
		b, _ := json.Marshal(old)
		t.Errorf("the key of a layer without accounts changed: %s, was %s", a, b)
	}
	l.Rootfs.Users = []User{{Name: "u", UID: 1000}}
	if l.Key() == key(old) {
		t.Error("a user did not change the layer's key")
	}
}

func TestAccountCommands(t *testing.T) {
	cmds, err := accountCommands(Rootfs{Groups: []Group{{Name: "g", GID: 50000}}, Users: []User{{Name: "u", UID: 1000, Groups: []string{"g"}}}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"groupadd", "--gid", "50000", "g"},
		{"groupadd", "--gid", "1000", "u"},
		{"useradd", "--uid", "1000", "--gid", "1000", "--create-home", "--shell", "/bin/sh", "--groups", "g", "u"},
	}
	if !reflect.DeepEqual(cmds, want) {
		t.Errorf("got %q, want %q", cmds, want)
	}
	for _, bad := range []Rootfs{
		{Groups: []Group{{Name: "-rf", GID: 1}}},
		{Groups: []Group{{Name: "g", GID: 0}}},
		{Users: []User{{Name: "Root", UID: 1}}},
		{Users: []User{{Name: "u", UID: 1, Groups: []string{"a,b"}}}},
	} {
		if _, err := accountCommands(bad); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
