package main

// MetalLB as config/manifests/metallb-native.yaml of v0.15.2 names it.
const (
	metallbVersion = "v0.15.2"
	metallbModule  = "go.universe.tf/metallb"
)

// metallbBin is a command of the MetalLB module built as its Dockerfiles
// build it: CGO_ENABLED=0, the module as the main module, the commit and
// branch stamps at the Dockerfiles' defaults ("dev": the proxy does not say
// which commit v0.15.2 is), no stripping.
func metallbBin(e *Env, name, pkg string) (*Binary, error) {
	in, err := goInputs(e)
	if err != nil {
		return nil, err
	}
	flags := "-X go.universe.tf/metallb/internal/version.gitCommit=dev -X go.universe.tf/metallb/internal/version.gitBranch=dev"
	return &Binary{Name: name, Kind: "main", Module: metallbModule, Version: metallbVersion, Package: pkg, Flags: flags, Inputs: in}, nil
}

// metallbController is quay.io/metallb/controller as controller/Dockerfile
// makes it: /controller and /LICENSE on the static base, ENTRYPOINT
// /controller (the manifest sets the user).
func metallbController(e *Env) (Image, error) {
	base, err := staticBase(e)
	if err != nil {
		return Image{}, err
	}
	bin, err := metallbBin(e, "controller", "./controller")
	if err != nil {
		return Image{}, err
	}
	lic, err := moduleFile(e, metallbModule, metallbVersion, "LICENSE", "LICENSE", 0o644)
	if err != nil {
		return Image{}, err
	}
	return Image{
		Layers: []Layer{base, {Name: "metallb-controller", Files: []File{exe("controller", bin), lic}}},
		Config: Config{Entrypoint: []string{"/controller"}, Env: []string{pathEnv}},
	}, nil
}

// metallbSpeaker is quay.io/metallb/speaker as speaker/Dockerfile makes it:
// /speaker, and for FRR mode /cp-tool, /frr-metrics and /frr-reloader.sh,
// with /LICENSE on the static base, ENTRYPOINT /speaker. (v0.15.2 links
// with Go 1.26 as it is: v0.13.5's speaker needed -checklinkname=0.)
func metallbSpeaker(e *Env) (Image, error) {
	base, err := staticBase(e)
	if err != nil {
		return Image{}, err
	}
	var files []File
	for _, b := range []struct{ name, pkg string }{
		{"speaker", "./speaker"},
		{"cp-tool", "./frr-tools/cp-tool"},
		{"frr-metrics", "./frr-tools/metrics"},
	} {
		bin, err := metallbBin(e, b.name, b.pkg)
		if err != nil {
			return Image{}, err
		}
		files = append(files, exe(b.name, bin))
	}
	reloader, err := moduleFile(e, metallbModule, metallbVersion, "frr-tools/reloader/frr-reloader.sh", "frr-reloader.sh", 0o755)
	if err != nil {
		return Image{}, err
	}
	lic, err := moduleFile(e, metallbModule, metallbVersion, "LICENSE", "LICENSE", 0o644)
	if err != nil {
		return Image{}, err
	}
	return Image{
		Layers: []Layer{base, {Name: "metallb-speaker", Files: append(files, reloader, lic)}},
		Config: Config{Entrypoint: []string{"/speaker"}, Env: []string{pathEnv}},
	}, nil
}

// moduleFile is the file from of module@version at to in the image, with
// mode (the module cache keeps no modes).
func moduleFile(e *Env, module, version, from, to string, mode int64) (File, error) {
	b, err := e.ReadModuleFile(module, version, from)
	if err != nil {
		return File{}, err
	}
	return File{Path: to, Kind: Regular, Mode: mode, Data: b}, nil
}
