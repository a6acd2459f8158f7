package main

import (
	"fmt"
	"os"
	"strings"
)

// release is one Kubernetes release whose kubeadm images the lab builds:
// the tags `kubeadm config images list --kubernetes-version KUBE` names
// (TestRecipesAreKubeadms runs the real kubeadm), and the modules that
// build them.
type release struct {
	registry string // kubeadm's default image repository
	kube     string // the kube-* images' tag, and the source of pause
	pause    string // pause's tag
	etcdTag  string // etcd's tag: its version and Kubernetes' image revision
	// etcdVersion is the version of every etcd module below.
	etcdVersion string
	etcd        []etcdBin
	coredns     string // CoreDNS's tag and module version
	// corednsCommit is the commit CoreDNS's Makefile stamps (`git describe
	// --always`: the tag's commit, short).
	corednsCommit string
	// require are "MODULE VERSION" requirements added to the etcd and
	// CoreDNS builds, raising a dependency that breaks with this toolchain.
	require []string
	// corednsRequire are added to the CoreDNS build only.
	corednsRequire []string
}

// etcdBin is one program of the etcd image: its module and package.
type etcdBin struct{ name, module, pkg string }

// releases are the Kubernetes releases the lab builds, examples/lab.hcl's
// first (its agnhost is e2eRelease's).
var releases = []release{
	{
		registry: "registry.k8s.io", kube: "v1.30.14", pause: "3.9", etcdTag: "3.5.15-0",
		etcdVersion: "v3.5.15",
		etcd:        etcd35,
		// The proxy's Origin.Hash of v1.11.3 is a7ed346585e3...
		coredns: "v1.11.3", corednsCommit: "a7ed346",
	},
	{
		// The lab's upgrade check goes through it to 1.30.14 (a patch
		// upgrade; kprov pins 1.30's etcd and CoreDNS tags, so only the
		// kube-* images change).
		// v1.30.4 is the newest 1.30 before 1.30.14 whose staging modules
		// the proxy serves.
		registry: "registry.k8s.io", kube: "v1.30.4", pause: "3.9", etcdTag: "3.5.12-0",
		etcdVersion: "v3.5.12",
		etcd:        etcd35,
		// The proxy's Origin.Hash of v1.11.1 is ae2bbc29be1a...
		coredns: "v1.11.1", corednsCommit: "ae2bbc2", corednsRequire: coredns1111Require,
	},
	{
		// Where the lab's upgrade check starts: the last 1.29, upgraded to
		// 1.30.4 (a minor upgrade).
		registry: "registry.k8s.io", kube: "v1.29.15", pause: "3.9", etcdTag: "3.5.16-0",
		etcdVersion: "v3.5.16",
		etcd:        etcd35,
		coredns:     "v1.11.1", corednsCommit: "ae2bbc2", corednsRequire: coredns1111Require,
	},
	{
		// examples/cluster.hcl's release: the last 1.21, still on k8s.gcr.io.
		registry: "k8s.gcr.io", kube: "v1.21.14", pause: "3.4.1", etcdTag: "3.4.13-0",
		// etcd 3.4 is one module, go.etcd.io/etcd, whose root is the server's
		// package main; its v3.4.13 tag has no /v3 suffix, so the proxy serves
		// it only as this pseudo-version of the tag's commit (ae9734ed278b,
		// version/version.go says 3.4.13). No etcdutl before 3.5.
		etcdVersion: "v0.5.0-alpha.5.0.20200824191128-ae9734ed278b",
		etcd: []etcdBin{
			{"etcd", "go.etcd.io/etcd", "go.etcd.io/etcd"},
			{"etcdctl", "go.etcd.io/etcd", "go.etcd.io/etcd/etcdctl"},
		},
		// The proxy's .info of v1.8.0 has no Origin: 054c9ae is what
		// upstream's k8s.gcr.io/coredns/coredns:v1.8.0 prints at start
		// ("CoreDNS-1.8.0 linux/amd64, go1.15.3, 054c9ae").
		coredns: "v1.8.0", corednsCommit: "054c9ae",
		// Both pin reflect2 1.0.1, whose map iteration segfaults on Go >=
		// 1.18 (json-iterator's map encoding); build.sh raises it the same way.
		require: []string{"github.com/modern-go/reflect2 v1.0.2"},
	},
}

// etcd35 are the programs of etcd 3.5's image, each its own /v3 module.
var etcd35 = []etcdBin{
	{"etcd", "go.etcd.io/etcd/server/v3", "go.etcd.io/etcd/server/v3"},
	{"etcdctl", "go.etcd.io/etcd/etcdctl/v3", "go.etcd.io/etcd/etcdctl/v3"},
	{"etcdutl", "go.etcd.io/etcd/etcdutl/v3", "go.etcd.io/etcd/etcdutl/v3"},
}

// coredns1111Require raises CoreDNS v1.11.1's tracing library to the one
// v1.11.3 uses: v1.54.0 reaches inet.af/netaddr, whose host the Go module
// proxy here does not serve.
var coredns1111Require = []string{"gopkg.in/DataDog/dd-trace-go.v1 v1.62.0"}

// e2eRelease is the release of examples/lab.hcl, whose e2e suite's agnhost
// the lab builds (agnhost.go).
var e2eRelease = releases[0]

// pathEnv is the PATH of every image (distroless's and Debian's default).
const pathEnv = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// recipe makes the recipe of one image, reading what it needs from env.
type recipe struct {
	ref  string
	make func(*Env) (Image, error)
}

// Recipes are every image the lab can build, Kubernetes' first (they
// unblock kubeadm init; release by release, examples/lab.hcl's first), then
// Calico's (the network), then the addons' (MetalLB, Traefik) and kube-vip
// (the control planes' shared address), then the e2e
// suite's (agnhost).
func Recipes() []recipe {
	var out []recipe
	seen := map[string]bool{}
	for _, r := range releases {
		for _, rc := range r.recipes() {
			// Releases share an image (pause) only where they build it
			// alike (TestReleasesShareAlike): the first one's is kept.
			if !seen[rc.ref] {
				seen[rc.ref] = true
				out = append(out, rc)
			}
		}
	}
	return append(out,
		recipe{"docker.io/calico/cni:" + calicoVersion, calicoCNI},
		recipe{"docker.io/calico/kube-controllers:" + calicoVersion, calicoKubeControllers},
		recipe{"docker.io/calico/node:" + calicoVersion, calicoNode},
		recipe{"quay.io/metallb/controller:" + metallbVersion, metallbController},
		recipe{"quay.io/metallb/speaker:" + metallbVersion, metallbSpeaker},
		recipe{"docker.io/library/traefik:" + traefikVersion, traefik},
		recipe{"ghcr.io/kube-vip/kube-vip:" + kubeVIPVersion, kubeVIP},
		recipe{agnhostRef, agnhost},
	)
}

// recipes are the images of r that kubeadm pulls, in the order the lab
// has always built them.
func (r release) recipes() []recipe {
	return []recipe{
		{r.registry + "/kube-apiserver:" + r.kube, r.controlPlane("kube-apiserver")},
		{r.registry + "/kube-controller-manager:" + r.kube, r.controlPlane("kube-controller-manager")},
		{r.registry + "/kube-scheduler:" + r.kube, r.controlPlane("kube-scheduler")},
		{r.registry + "/etcd:" + r.etcdTag, r.etcdImage},
		{r.registry + "/pause:" + r.pause, r.pauseImage},
		{r.registry + "/kube-proxy:" + r.kube, r.kubeProxy},
		{r.registry + "/coredns/coredns:" + r.coredns, r.corednsImage},
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

// kubeBin is a Kubernetes command of r built by
// bootstrap/kubeadm/oracle/build.sh (which stamps the version as upstream's
// hack/lib/version.sh does).
func (r release) kubeBin(e *Env, cmd string) (*Binary, error) {
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
	return &Binary{Name: cmd, Kind: "kubernetes", Module: "k8s.io/kubernetes", Version: r.kube, Package: cmd, Inputs: in}, nil
}

// controlPlane is a Kubernetes component on the static base, as upstream's
// go-runner images hold it (/usr/local/bin/NAME; kubeadm's static pods set
// the command).
func (r release) controlPlane(name string) func(*Env) (Image, error) {
	return func(e *Env) (Image, error) {
		base, err := staticBase(e)
		if err != nil {
			return Image{}, err
		}
		bin, err := r.kubeBin(e, name)
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
func (r release) kubeProxy(e *Env) (Image, error) {
	bin, err := r.kubeBin(e, "kube-proxy")
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

// etcdImage is etcd, etcdctl (and etcdutl from 3.5) of kubeadm's etcd tag,
// each built from its module on the proxy as a dependency of a scratch
// module (the approach of bootstrap/kubeadm/oracle/build-etcd.sh), in
// /usr/local/bin.
func (r release) etcdImage(e *Env) (Image, error) {
	base, err := staticBase(e)
	if err != nil {
		return Image{}, err
	}
	in, err := goInputs(e)
	if err != nil {
		return Image{}, err
	}
	var files []File
	for _, m := range r.etcd {
		b := &Binary{Name: m.name, Kind: "module", Module: m.module, Version: r.etcdVersion, Package: m.pkg, Flags: "-s -w",
			Inputs: in, Require: r.require}
		files = append(files, exe("usr/local/bin/"+m.name, b))
	}
	return Image{
		Layers: []Layer{base, {Name: "etcd", Files: files}},
		Config: Config{Cmd: []string{"/usr/local/bin/etcd"}, Env: []string{pathEnv}, Ports: []string{"2379/tcp", "2380/tcp"}},
	}, nil
}

// pauseImage is build/pause/linux/pause.c of the Kubernetes module of r
// (the same file in 1.21.14 and 1.30.14), compiled with the flags of
// build/pause/Makefile (gcc -static), alone in its image as upstream's
// (FROM scratch, USER 65535:65535).
func (r release) pauseImage(e *Env) (Image, error) {
	gcc, err := e.GCCVersion()
	if err != nil {
		return Image{}, err
	}
	b := &Binary{Name: "pause", Kind: "pause", Module: "k8s.io/kubernetes", Version: r.kube,
		Package: "build/pause/linux/pause.c", Flags: "-Os -Wall -Werror -static -DVERSION=v" + r.pause + "-" + r.kube,
		Inputs: []string{gcc}}
	return Image{
		Layers: []Layer{{Name: "pause", Files: []File{exe("pause", b)}}},
		Config: Config{Entrypoint: []string{"/pause"}, User: "65535:65535", Env: []string{pathEnv}},
	}, nil
}

// corednsImage is CoreDNS at kubeadm's tag, as its Dockerfile makes it:
// /coredns with cap_net_bind_service=+ep, user nonroot, CA certificates.
func (r release) corednsImage(e *Env) (Image, error) {
	base, err := staticBase(e)
	if err != nil {
		return Image{}, err
	}
	b, err := r.corednsBin(e)
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
func (r release) corednsBin(e *Env) (*Binary, error) {
	in, err := goInputs(e)
	if err != nil {
		return nil, err
	}
	return &Binary{Name: "coredns", Kind: "module", Module: "github.com/coredns/coredns", Version: r.coredns,
		Package: "github.com/coredns/coredns", Flags: "-s -w -X github.com/coredns/coredns/coremain.GitCommit=" + r.corednsCommit,
		Inputs: in, Require: append(append([]string(nil), r.require...), r.corednsRequire...)}, nil
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
