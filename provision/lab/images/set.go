package main

import (
	"fmt"
	"os"
	"strings"
)

// The lab's Kubernetes release and the tags kubeadm 1.30.14 names
// (`kubeadm config images list --kubernetes-version v1.30.14`).
const (
	kubeVersion    = "v1.30.14"
	pauseTag       = "3.9"
	etcdTag        = "3.5.15-0"
	etcdVersion    = "v3.5.15" // etcdTag without kubernetes' image revision
	corednsVersion = "v1.11.3"
	corednsCommit  = "a7ed346" // the proxy's Origin.Hash of v1.11.3, as `git describe --always` stamps it
)

// pathEnv is the PATH of every image (distroless's and Debian's default).
const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// recipe makes the recipe of one image, reading what it needs from env.
type recipe struct {
	ref  string
	make func(*Env) (Image, error)
}

// Recipes are every image the lab can build, Kubernetes' first (they
// unblock kubeadm init), then Calico's (the network), then the addons'
// (MetalLB, Traefik), then the e2e suite's (agnhost).
func Recipes() []recipe {
	return []recipe{
		{"registry.k8s.io/kube-apiserver:" + kubeVersion, controlPlane("kube-apiserver")},
		{"registry.k8s.io/kube-controller-manager:" + kubeVersion, controlPlane("kube-controller-manager")},
		{"registry.k8s.io/kube-scheduler:" + kubeVersion, controlPlane("kube-scheduler")},
		{"registry.k8s.io/etcd:" + etcdTag, etcd},
		{"registry.k8s.io/pause:" + pauseTag, pause},
		{"registry.k8s.io/kube-proxy:" + kubeVersion, kubeProxy},
		{"registry.k8s.io/coredns/coredns:" + corednsVersion, coredns},
		{"docker.io/calico/cni:" + calicoVersion, calicoCNI},
		{"docker.io/calico/kube-controllers:" + calicoVersion, calicoKubeControllers},
		{"docker.io/calico/node:" + calicoVersion, calicoNode},
		{"quay.io/metallb/controller:" + metallbVersion, metallbController},
		{"quay.io/metallb/speaker:" + metallbVersion, metallbSpeaker},
		{"docker.io/library/traefik:" + traefikVersion, traefik},
		{agnhostRef, agnhost},
	}
}

// goInputs are the inputs of every Go build: the toolchain and cgo off.
func goInputs(e *Env) ([]string, error) {
	v, err := e.GoVersion()
	if err != nil {
		return nil, err
	}
	return []string{"go " + v, "CGO_ENABLED=0"}, nil
}

// kubeBin is a Kubernetes command built by bootstrap/kubeadm/oracle/build.sh
// (which stamps the version as upstream's hack/lib/version.sh does).
func kubeBin(e *Env, cmd string) (*Binary, error) {
	in, err := goInputs(e)
	if err != nil {
		return nil, err
	}
	for _, s := range []string{"bootstrap/kubeadm/oracle/build.sh", "bootstrap/kubeadm/oracle/replaces.sh"} {
		sum, err := e.FileSum(s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		in = append(in, s+" "+sum)
	}
	return &Binary{Name: cmd, Kind: "kubernetes", Module: "k8s.io/kubernetes", Version: kubeVersion, Package: cmd, Inputs: in}, nil
}

// controlPlane is a Kubernetes component on the static base, as upstream's
// go-runner images hold it (/usr/local/bin/NAME; kubeadm's static pods set
// the command).
func controlPlane(name string) func(*Env) (Image, error) {
	return func(e *Env) (Image, error) {
		base, err := staticBase(e)
		if err != nil {
			return Image{}, err
		}
		bin, err := kubeBin(e, name)
		if err != nil {
			return Image{}, err
		}
		return Image{
			Layers: []Layer{base, {Name: name, Files: []File{exe("usr/local/bin/"+name, bin)}}},
			Config: Config{Entrypoint: []string{"/usr/local/bin/" + name}, Env: []string{pathEnv}},
		}, nil
	}
}

// kubeProxy is kube-proxy on the Debian layer (iptables, ipset, conntrack,
// kmod), as upstream's distroless-iptables image holds it.
func kubeProxy(e *Env) (Image, error) {
	bin, err := kubeBin(e, "kube-proxy")
	if err != nil {
		return Image{}, err
	}
	root, err := debianLayer(e)
	if err != nil {
		return Image{}, err
	}
	return Image{
		Layers: []Layer{root, {Name: "kube-proxy", Files: []File{exe("usr/local/bin/kube-proxy", bin)}}},
		Config: Config{Entrypoint: []string{"/usr/local/bin/kube-proxy"}, Env: []string{pathEnv}},
	}, nil
}

// etcd is etcd, etcdctl and etcdutl of kubeadm's etcd tag, each built from
// its module on the proxy as a dependency of a scratch module (the approach
// of bootstrap/kubeadm/oracle/build-etcd.sh), in /usr/local/bin.
func etcd(e *Env) (Image, error) {
	base, err := staticBase(e)
	if err != nil {
		return Image{}, err
	}
	in, err := goInputs(e)
	if err != nil {
		return Image{}, err
	}
	var files []File
	for _, m := range []struct{ name, module string }{
		{"etcd", "go.etcd.io/etcd/server/v3"},
		{"etcdctl", "go.etcd.io/etcd/etcdctl/v3"},
		{"etcdutl", "go.etcd.io/etcd/etcdutl/v3"},
	} {
		b := &Binary{Name: m.name, Kind: "module", Module: m.module, Version: etcdVersion, Package: m.module, Flags: "-s -w", Inputs: in}
		files = append(files, exe("usr/local/bin/"+m.name, b))
	}
	return Image{
		Layers: []Layer{base, {Name: "etcd", Files: files}},
		Config: Config{Cmd: []string{"/usr/local/bin/etcd"}, Env: []string{pathEnv}, Ports: []string{"2379/tcp", "2380/tcp"}},
	}, nil
}

// pause is build/pause/linux/pause.c of the Kubernetes module, compiled with
// the flags of build/pause/Makefile (gcc -static), alone in its image as
// upstream's (FROM scratch, USER 65535:65535).
func pause(e *Env) (Image, error) {
	gcc, err := e.GCCVersion()
	if err != nil {
		return Image{}, err
	}
	b := &Binary{Name: "pause", Kind: "pause", Module: "k8s.io/kubernetes", Version: kubeVersion,
		Package: "build/pause/linux/pause.c", Flags: "-Os -Wall -Werror -static -DVERSION=v" + pauseTag + "-" + kubeVersion,
		Inputs: []string{gcc}}
	return Image{
		Layers: []Layer{{Name: "pause", Files: []File{exe("pause", b)}}},
		Config: Config{Entrypoint: []string{"/pause"}, User: "65535:65535", Env: []string{pathEnv}},
	}, nil
}

// coredns is CoreDNS at kubeadm's tag, as its Dockerfile makes it: /coredns
// with cap_net_bind_service=+ep, user nonroot, CA certificates.
func coredns(e *Env) (Image, error) {
	base, err := staticBase(e)
	if err != nil {
		return Image{}, err
	}
	b, err := corednsBin(e)
	if err != nil {
		return Image{}, err
	}
	f := exe("coredns", b)
	f.Xattrs = map[string][]byte{"security.capability": fileCaps(capNetBindService)}
	return Image{
		Layers: []Layer{base, {Name: "coredns", Files: []File{f}}},
		Config: Config{Entrypoint: []string{"/coredns"}, User: "65532:65532", Env: []string{pathEnv},
			Ports: []string{"53/tcp", "53/udp"}},
	}, nil
}

// corednsBin is CoreDNS at kubeadm's tag, built as its Makefile builds it.
func corednsBin(e *Env) (*Binary, error) {
	in, err := goInputs(e)
	if err != nil {
		return nil, err
	}
	return &Binary{Name: "coredns", Kind: "module", Module: "github.com/coredns/coredns", Version: corednsVersion,
		Package: "github.com/coredns/coredns", Flags: "-s -w -X github.com/coredns/coredns/coremain.GitCommit=" + corednsCommit, Inputs: in}, nil
}

// exe is an executable built from b at p.
func exe(p string, b *Binary) File { return File{Path: p, Kind: Regular, Mode: 0o755, Bin: b} }

// staticBase is the layer under static binaries, like distroless/static:
// root, nobody and nonroot (65532) users, /tmp, /home/nonroot, and the
// host's CA bundle.
func staticBase(e *Env) (Layer, error) {
	const bundle = "/etc/ssl/certs/ca-certificates.crt"
	ca, err := os.ReadFile(bundle)
	if err != nil {
		return Layer{}, fmt.Errorf("read %s: %w: apt-get install ca-certificates", bundle, err)
	}
	text := func(p, s string) File { return File{Path: p, Kind: Regular, Mode: 0o644, Data: []byte(s)} }
	return Layer{Name: "static-base", Files: []File{
		text("etc/passwd", lines("root:x:0:0:root:/root:/sbin/nologin",
			"nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin",
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin")),
		text("etc/group", lines("root:x:0:", "nobody:x:65534:", "tty:x:5:", "staff:x:50:", "nonroot:x:65532:")),
		text("etc/nsswitch.conf", lines("hosts: files dns", "networks: files", "passwd: files", "group: files")),
		{Path: "etc/ssl/certs/ca-certificates.crt", Kind: Regular, Mode: 0o644, Data: ca},
		{Path: "home/nonroot", Kind: Dir, Mode: 0o700, UID: 65532, GID: 65532},
		{Path: "root", Kind: Dir, Mode: 0o700},
		{Path: "tmp", Kind: Dir, Mode: 0o1777},
	}}, nil
}

// debianPackages is the userland of kube-proxy (iptables, ipset,
// conntrack, kmod) and calico-node (also iproute2, BIRD, runit for its
// services, procps and net-tools' arp).
var debianPackages = []string{"bird", "conntrack", "iproute2", "ipset", "iptables", "kmod", "net-tools", "procps", "runit"}

// debianLayer is the one Debian layer the images with userland share.
func debianLayer(e *Env) (Layer, error) {
	sum, err := e.FileSum("provision/lab/images/rootfs.sh")
	if err != nil {
		return Layer{}, err
	}
	return Layer{Name: "debian-bookworm", Rootfs: &Rootfs{Suite: "bookworm", Packages: debianPackages, Script: sum}}, nil
}

func lines(l ...string) string { return strings.Join(l, "\n") + "\n" }

// capNetBindService is CAP_NET_BIND_SERVICE's number.
const capNetBindService = 10

// fileCaps is the security.capability value of `setcap CAP=+ep`
// (struct vfs_cap_data, revision 2, effective).
func fileCaps(capability uint) []byte {
	b := make([]byte, 20)
	le := func(off int, v uint32) {
		b[off], b[off+1], b[off+2], b[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	le(0, 0x02000000|0x1) // VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE
	le(4+8*int(capability/32), 1<<(capability%32))
	return b
}
