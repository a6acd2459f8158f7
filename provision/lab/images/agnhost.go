package main

import (
	"fmt"
	"strings"
)

// agnhostRef is the agnhost image the e2e suite of e2eRelease runs
// (test/utils/image/manifest.go: configs[Agnhost], in the promoter's
// e2e-test-images registry).
const agnhostRef = "registry.k8s.io/e2e-test-images/agnhost:2.47"

// agnhostPackage is agnhost's package in the Kubernetes module.
const agnhostPackage = "k8s.io/kubernetes/test/images/agnhost"

// agnhostPackages are the Debian packages for what upstream's Alpine image
// installs (bind-tools, curl, netcat-openbsd, iproute2, iperf, bash) and
// for the busybox tools the suite runs in it (ping with -M, wget -T,
// netstat -na, ps), with CA certificates for curl.
var agnhostPackages = []string{"bind9-dnsutils", "ca-certificates", "curl", "iperf", "iproute2", "iputils-ping",
	"net-tools", "netcat-openbsd", "procps", "wget"}

// agnhost is the e2e suite's agnhost image as test/images/agnhost/Dockerfile
// lays it out, on Debian bookworm instead of Alpine: its own Debian layer
// (the packages above, user-defined-in-image 1000 in
// group-defined-in-image 50000 for the SupplementalGroups test), then
// /agnhost built from e2eRelease's source, /agnhost-2 linked to it (the
// entrypoint tests), /coredns (the DNS tests; the lab's CoreDNS, not
// upstream's 1.6.2), porter's /localhost.crt and /localhost.key, /uploads
// (netexec) and /usr/local/bin/iperf; ENTRYPOINT /agnhost, CMD pause.
func agnhost(e *Env) (Image, error) {
	bin, err := agnhostBin(e)
	if err != nil {
		return Image{}, err
	}
	dns, err := e2eRelease.corednsBin(e)
	if err != nil {
		return Image{}, err
	}
	sum, err := e.FileSum("provision/lab/images/rootfs.sh")
	if err != nil {
		return Image{}, err
	}
	root := Layer{Name: "agnhost-debian-bookworm", Rootfs: &Rootfs{Suite: "bookworm", Packages: agnhostPackages, Script: sum,
		Groups: []Group{{Name: "group-defined-in-image", GID: 50000}},
		Users:  []User{{Name: "user-defined-in-image", UID: 1000, Groups: []string{"group-defined-in-image"}}}}}
	files := []File{
		exe("agnhost", bin),
		{Path: "agnhost-2", Kind: Symlink, Mode: 0o777, Target: "agnhost"},
		exe("coredns", dns),
		{Path: "uploads", Kind: Dir, Mode: 0o755},
		{Path: "usr/local/bin/iperf", Kind: Symlink, Mode: 0o777, Target: "/usr/bin/iperf"},
	}
	for _, f := range []string{"localhost.crt", "localhost.key"} {
		file, err := moduleFile(e, "k8s.io/kubernetes", e2eRelease.kube, "test/images/agnhost/porter/"+f, f, 0o644)
		if err != nil {
			return Image{}, err
		}
		files = append(files, file)
	}
	return Image{
		Layers: []Layer{root, {Name: "agnhost", Files: files}},
		Config: Config{Entrypoint: []string{"/agnhost"}, Cmd: []string{"pause"}, Env: []string{pathEnv},
			Ports: []string{"80/tcp", "8080/tcp", "8081/tcp", "9376/tcp", "5000/tcp"}},
	}, nil
}

// agnhostBin is agnhost built as test/images/image-util.sh builds it
// (CGO_ENABLED=0, -w, main.Version from the folder's VERSION file), as a
// package of the Kubernetes module with build.sh's staging replaces.
// e2eRelease's VERSION (2.48) is one ahead of the tag its suite runs
// (2.47): the folder's VERSION is raised with a change, the suite's tag
// when the image is promoted.
func agnhostBin(e *Env) (*Binary, error) {
	in, err := goInputs(e)
	if err != nil {
		return nil, err
	}
	const replaces = "bootstrap/kubeadm/oracle/replaces.sh"
	sum, err := e.FileSum(replaces)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", replaces, err)
	}
	v, err := e.ReadModuleFile("k8s.io/kubernetes", e2eRelease.kube, "test/images/agnhost/VERSION")
	if err != nil {
		return nil, err
	}
	version := strings.TrimSpace(string(v))
	if version == "" || strings.ContainsAny(version, " \t\n'\"") {
		return nil, fmt.Errorf("test/images/agnhost/VERSION of k8s.io/kubernetes %s is %q, not a version", e2eRelease.kube, version)
	}
	return &Binary{Name: "agnhost", Kind: "kubernetes-package", Module: "k8s.io/kubernetes", Version: e2eRelease.kube,
		Package: agnhostPackage, Flags: "-w -X main.Version=" + version, Inputs: append(in, replaces+" "+sum)}, nil
}
