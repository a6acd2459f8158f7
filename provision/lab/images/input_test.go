package main

import (
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	cases := []struct{ in, mirror, tag string }{
		{"registry.k8s.io/pause:3.9", "registry.k8s.io/pause", "3.9"},
		{"registry.k8s.io/coredns/coredns:v1.11.3", "registry.k8s.io/coredns/coredns", "v1.11.3"},
		{"docker.io/calico/node:v3.28.5", "docker.io/calico/node", "v3.28.5"},
		{"calico/node:v3.28.5", "docker.io/calico/node", "v3.28.5"},
		{"busybox:1.36", "docker.io/library/busybox", "1.36"},
		{"docker.io/traefik:v3.6.12", "docker.io/library/traefik", "v3.6.12"},
		{"index.docker.io/traefik:v3.6.12", "docker.io/library/traefik", "v3.6.12"},
		{"docker.io/library/traefik:v3.6.12", "docker.io/library/traefik", "v3.6.12"},
		{"quay.io/metallb/speaker:v0.15.2", "quay.io/metallb/speaker", "v0.15.2"},
		{"localhost:5000/x/y:1", "localhost:5000/x/y", "1"},
		{"registry.k8s.io/pause:3.9@sha256:7031c1b283388d2c2e09b57badb803c05ebed362dc88d84b480cc47f72a21097", "registry.k8s.io/pause", "3.9"},
	}
	for _, c := range cases {
		r, err := ParseRef(c.in)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", c.in, err)
			continue
		}
		if r.MirrorRepo() != c.mirror || r.Tag != c.tag {
			t.Errorf("ParseRef(%q) = %s : %s, want %s : %s", c.in, r.MirrorRepo(), r.Tag, c.mirror, c.tag)
		}
	}
	for _, bad := range []string{"registry.k8s.io/pause", "localhost:5000/x", "registry.k8s.io/:1"} {
		if _, err := ParseRef(bad); err == nil {
			t.Errorf("ParseRef(%q) accepted", bad)
		}
	}
}

func TestParseImageList(t *testing.T) {
	want := "registry.k8s.io/pause:3.9 docker.io/calico/node:v3.28.5"
	for name, in := range map[string]string{
		"kprov images -o json": `[{"image":"registry.k8s.io/pause:3.9","source":"kubeadm"},{"image":"docker.io/calico/node:v3.28.5","source":"addons/calico","digest":"sha256:ab"}]`,
		"wrapped":              `{"images":[{"image":"registry.k8s.io/pause:3.9"},{"image":"docker.io/calico/node:v3.28.5"}]}`,
		"plain":                `["registry.k8s.io/pause:3.9","docker.io/calico/node:v3.28.5"]`,
	} {
		got, err := ParseImageList([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	for _, bad := range []string{`{"x":1}`, `[{"source":"kubeadm"}]`, `nope`} {
		if _, err := ParseImageList([]byte(bad)); err == nil {
			t.Errorf("ParseImageList(%s) accepted", bad)
		}
	}
}

func TestSelect(t *testing.T) {
	all := Recipes()
	got, err := Select(all, []string{"docker.io/calico/node:v3.28.5", "registry.k8s.io/pause:3.9", "calico/node:v3.28.5"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ref != "registry.k8s.io/pause:3.9" || got[1].ref != "docker.io/calico/node:v3.28.5" {
		t.Errorf("Select kept %v, want pause then calico/node (the recipes' order, once each)", got)
	}
	_, err = Select(all, []string{"registry.k8s.io/pause:3.9", "quay.io/metallb/speaker:v0.13.5", "docker.io/traefik:v3.6"})
	if err == nil {
		t.Fatal("images without a recipe were accepted")
	}
	for _, want := range []string{"quay.io/metallb/speaker:v0.13.5", "docker.io/traefik:v3.6", "no recipe"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
