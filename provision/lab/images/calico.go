package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Calico v3.28.5 is built from the proxy's zip of the Calico monorepo at
// the release branch's commit whose manifests name v3.28.5 images
// (../shared/upstream-src/SOURCES.md).
const (
	calicoVersion = "v3.28.5"
	calicoModule  = "github.com/projectcalico/calico"
	calicoPseudo  = "v1.11.0-cni-plugin.0.20250813170300-a0db560f0520"
	calicoCommit  = "a0db560f0520abf7c4fed6a6043a7c4ae80f20a4"
	calicoDate    = "2025-08-13T17:03:00+0000"
	calicoAPIName = "calico-api-a0db560f0520"
)

// calicoAPIDir is the folder of the Go module github.com/projectcalico/api
// that replaces the monorepo's ./api (not in the module zip, refused by the
// proxy): KPROV_CALICO_API, else ../shared/upstream-src/calico-api-a0db560f0520
// beside the repository. Read in place, never copied.
func (e *Env) calicoAPIDir() (string, error) {
	dir := os.Getenv("KPROV_CALICO_API")
	if dir == "" {
		dir = filepath.Join(e.Root, "..", "shared", "upstream-src", calicoAPIName)
	}
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || !strings.Contains(string(b), "module github.com/projectcalico/api") {
		return "", fmt.Errorf("no github.com/projectcalico/api module in %s: the Calico images need it and the Go module proxy does not serve it; "+
			"provide it with `git archive %s api | tar -x --strip-components=1 -C DIR` in a clone of github.com/projectcalico/calico, "+
			"then put DIR at ../shared/upstream-src/%s beside the repository or set KPROV_CALICO_API=DIR", dir, calicoCommit, calicoAPIName)
	}
	return filepath.Abs(dir)
}

// calicoBin is a binary of the monorepo (or of a module in its graph),
// stamped with flags.
func calicoBin(e *Env, name, pkg, flags string) (*Binary, error) {
	in, err := goInputs(e)
	if err != nil {
		return nil, err
	}
	api, err := e.calicoAPIDir()
	if err != nil {
		return nil, err
	}
	sum, err := e.DirSum(api)
	if err != nil {
		return nil, err
	}
	in = append(in, "github.com/projectcalico/api "+sum)
	return &Binary{Name: name, Kind: "calico", Module: calicoModule, Version: calicoPseudo, Package: pkg,
		Flags: "-s -w " + flags, Inputs: in}, nil
}

// calicoCNI is calico/cni: the calico and calico-ipam plugins (one binary
// that reads its name), the install entrypoint, and the
// containernetworking plugins upstream's image carries (host-local,
// loopback, portmap, tuning, bandwidth), in /opt/cni/bin.
func calicoCNI(e *Env) (Image, error) {
	base, err := staticBase(e)
	if err != nil {
		return Image{}, err
	}
	main := "-X main.VERSION=" + calicoVersion
	files := []File{}
	for _, b := range []struct{ name, pkg, flags string }{
		{"calico", "./cni-plugin/cmd/calico", main},
		{"install", "./cni-plugin/cmd/install", main},
		{"bandwidth", "github.com/containernetworking/plugins/plugins/meta/bandwidth", ""},
		{"host-local", "github.com/containernetworking/plugins/plugins/ipam/host-local", ""},
		{"loopback", "github.com/containernetworking/plugins/plugins/main/loopback", ""},
		{"portmap", "github.com/containernetworking/plugins/plugins/meta/portmap", ""},
		{"tuning", "github.com/containernetworking/plugins/plugins/meta/tuning", ""},
	} {
		if b.flags == "" {
			b.flags = "-X github.com/containernetworking/plugins/pkg/utils/buildversion.BuildVersion=" + calicoVersion
		}
		bin, err := calicoBin(e, b.name, b.pkg, b.flags)
		if err != nil {
			return Image{}, err
		}
		if b.name == "install" {
			bin.Patches = []SourcePatch{cniKubeconfigServer}
		}
		files = append(files, exe("opt/cni/bin/"+b.name, bin))
	}
	files = append(files, File{Path: "opt/cni/bin/calico-ipam", Kind: Hardlink, Target: "opt/cni/bin/calico", Mode: 0o755})
	lic, err := calicoFile(e, "LICENSE.md", "licenses/LICENSE")
	if err != nil {
		return Image{}, err
	}
	return Image{
		Layers: []Layer{base, {Name: "calico-cni", Files: append(files, lic)}},
		Config: Config{Cmd: []string{"/opt/cni/bin/install"}, WorkingDir: "/opt/cni/bin",
			Env: []string{"PATH=/opt/cni/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
	}, nil
}

// cniKubeconfigServer is upstream's fix of install-cni's kubeconfig
// (projectcalico/calico#11713, in v3.30 and v3.31, not in v3.28): it wrote
// `server: https://[10.96.0.1]:443`, an IPv4 address in brackets, which
// Go's URL parser rejects since Go 1.24.8 and 1.25.2 (golang/go#75678),
// so the CNI plugin built with this toolchain failed every pod sandbox
// ("error creating calico client: host must be a URL or a host:port
// pair") until calico-node's token refresher rewrote the file. Brackets
// are kept for IPv6 only, as net.JoinHostPort does.
var cniKubeconfigServer = SourcePatch{
	Path: "cni-plugin/pkg/install/install.go",
	Old:  `data = strings.Replace(data, "__KUBERNETES_SERVICE_HOST__", getEnv("KUBERNETES_SERVICE_HOST", ""), -1)`,
	New: `data = strings.Replace(data, "[__KUBERNETES_SERVICE_HOST__]", func(h string) string {
		if strings.Contains(h, ":") {
			return "[" + h + "]"
		}
		return h
	}(getEnv("KUBERNETES_SERVICE_HOST", "")), -1)`,
	Why: "projectcalico/calico#11713",
}

// calicoKubeControllers is calico/kube-controllers as its Dockerfile makes
// it: the controllers and check-status (the probes), status and profile
// files owned by 999, USER 999.
func calicoKubeControllers(e *Env) (Image, error) {
	base, err := staticBase(e)
	if err != nil {
		return Image{}, err
	}
	main := "-X main.VERSION=" + calicoVersion
	kc, err := calicoBin(e, "kube-controllers", "./kube-controllers/cmd/kube-controllers", main)
	if err != nil {
		return Image{}, err
	}
	cs, err := calicoBin(e, "check-status", "./kube-controllers/cmd/check-status", main)
	if err != nil {
		return Image{}, err
	}
	lic, err := calicoFile(e, "LICENSE.md", "licenses/LICENSE")
	if err != nil {
		return Image{}, err
	}
	owned := func(p string) File { return File{Path: p, Kind: Regular, Mode: 0o644, UID: 999} }
	return Image{
		Layers: []Layer{base, {Name: "calico-kube-controllers", Files: []File{
			exe("usr/bin/kube-controllers", kc), exe("usr/bin/check-status", cs), lic,
			owned("status/status.json"), owned("profiles/mem.pprof"), owned("profiles/cpu.pprof"),
		}}},
		Config: Config{Entrypoint: []string{"/usr/bin/kube-controllers"}, User: "999", Env: []string{pathEnv}},
	}, nil
}

// calicoNode is calico/node on the Debian layer: calico-node (felix,
// confd, the start-up, the probes; setuid as upstream's), the monorepo's
// node/filesystem (runit services, rc.local, start_runit) and confd's
// templates (bird_ipam.cfg.template patched for Debian's BIRD:
// patchBirdIPAM), started by start_runit.
func calicoNode(e *Env) (Image, error) {
	root, err := debianLayer(e)
	if err != nil {
		return Image{}, err
	}
	flags := ""
	for _, x := range []string{"pkg/lifecycle/startup.VERSION=" + calicoVersion, "buildinfo.GitVersion=" + calicoVersion,
		"buildinfo.BuildDate=" + calicoDate, "buildinfo.GitRevision=" + calicoCommit} {
		flags += " -X github.com/projectcalico/calico/node/" + x
	}
	bin, err := calicoBin(e, "calico-node", "./node/cmd/calico-node", strings.TrimSpace(flags))
	if err != nil {
		return Image{}, err
	}
	node := exe("usr/bin/calico-node", bin)
	node.Mode = 0o4755
	files := []File{node, {Path: "etc/calico/confd/config", Kind: Dir, Mode: 0o755}}
	for _, t := range []struct{ from, to string }{
		{"node/filesystem/etc", "etc"},
		{"node/filesystem/sbin", "usr/sbin"},
		{"confd/etc/calico/confd/conf.d", "etc/calico/confd/conf.d"},
		{"confd/etc/calico/confd/templates", "etc/calico/confd/templates"},
	} {
		tree, err := calicoTree(e, t.from, t.to)
		if err != nil {
			return Image{}, err
		}
		files = append(files, tree...)
	}
	if err := patchFile(files, birdIPAMTemplate, patchBirdIPAM); err != nil {
		return Image{}, err
	}
	lic, err := calicoFile(e, "LICENSE.md", "licenses/LICENSE")
	if err != nil {
		return Image{}, err
	}
	return Image{
		Layers: []Layer{root, {Name: "calico-node", Files: append(files, lic)}},
		Config: Config{Cmd: []string{"start_runit"}, Env: []string{pathEnv, "SVDIR=/etc/service/enabled"}},
	}, nil
}

// calicoFile is the monorepo's file from, at to in the image.
func calicoFile(e *Env, from, to string) (File, error) {
	dir, err := e.ModuleDir(calicoModule, calicoPseudo)
	if err != nil {
		return File{}, err
	}
	return hostFile(filepath.Join(dir, from), to)
}

// calicoTree is every file under the monorepo's folder from, at to in the
// image (but .gitkeep placeholders).
func calicoTree(e *Env, from, to string) ([]File, error) {
	dir, err := e.ModuleDir(calicoModule, calicoPseudo)
	if err != nil {
		return nil, err
	}
	var files []File
	src := filepath.Join(dir, from)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == ".gitkeep" {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		f, err := hostFile(p, filepath.ToSlash(filepath.Join(to, rel)))
		files = append(files, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", from, calicoModule, err)
	}
	return files, nil
}

// upstreamExecutable are files of node/filesystem that Calico's repository
// marks executable (git mode 100755) though they start with no "#!":
// start_runit runs /etc/rc.local directly, and "Permission denied" there
// stops calico-node ("Calico node failed to start", seen on the lab).
var upstreamExecutable = map[string]bool{"etc/rc.local": true}

// hostFile is the regular file at p as to: 0755 if it is executable, a
// script or upstreamExecutable, else 0644 (the module cache makes every
// file read-only).
func hostFile(p, to string) (File, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return File{}, err
	}
	info, err := os.Stat(p)
	if err != nil {
		return File{}, err
	}
	// Module zips keep no file modes: a script (#!) is executable, as it is
	// in the upstream repository (calico-node's start_runit, the runit
	// services' run files), and so are upstreamExecutable.
	mode := int64(0o644)
	if info.Mode().Perm()&0o111 != 0 || bytes.HasPrefix(b, []byte("#!")) || upstreamExecutable[to] {
		mode = 0o755
	}
	return File{Path: to, Kind: Regular, Mode: mode, Data: b}, nil
}
