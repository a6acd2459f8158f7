package main

// kube-vip as kprov's static pod names it (bootstrap/images.KubeVIP).
const (
	kubeVIPVersion = "v0.9.2"
	kubeVIPModule  = "github.com/kube-vip/kube-vip"
	// kubeVIPCommit is the tag's commit, which the Makefile stamps as
	// main.Build (the proxy's Origin of v0.9.2).
	kubeVIPCommit = "b56b80cd30497207e340d581a0db34469aa41c57"
)

// kubeVIP is ghcr.io/kube-vip/kube-vip as its Dockerfile makes it: the
// static binary at /kube-vip on an image with CA certificates, ENTRYPOINT
// /kube-vip; built as its Makefile builds it (CGO_ENABLED=0, the module as
// the main module, -s -w, main.Version and main.Build stamped).
func kubeVIP(e *Env) (Image, error) {
	base, err := staticBase(e)
	if err != nil {
		return Image{}, err
	}
	in, err := goInputs(e)
	if err != nil {
		return Image{}, err
	}
	flags := "-s -w -X=main.Version=" + kubeVIPVersion + " -X=main.Build=" + kubeVIPCommit
	bin := &Binary{Name: "kube-vip", Kind: "main", Module: kubeVIPModule, Version: kubeVIPVersion, Package: ".", Flags: flags, Inputs: in}
	return Image{
		Layers: []Layer{base, {Name: "kube-vip", Files: []File{exe("kube-vip", bin)}}},
		Config: Config{Entrypoint: []string{"/kube-vip"}, Env: []string{pathEnv}},
	}, nil
}
