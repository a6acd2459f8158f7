package registry

import (
	"bytes"
	"encoding/pem"
	"fmt"
	"io/fs"
	"path"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// Paths of containerd's configuration on a node.
const (
	ConfigFile = "/etc/containerd/config.toml"
	// CertsDir is containerd's registry config_path: one folder per
	// upstream host, named as in image names (registry.example:5000 keeps
	// its colon), each with a hosts.toml.
	CertsDir   = "/etc/containerd/certs.d"
	CNIConfDir = "/etc/cni/net.d"
	// CNIBinDir is where Calico's install-cni init container copies the CNI
	// plugins (its manifests mount the host's /opt/cni/bin); Debian's
	// containerd looks in /usr/lib/cni unless told otherwise.
	CNIBinDir = "/opt/cni/bin"
)

// Header is the first line of every file Containerd renders; a hosts
// folder whose hosts.toml starts with it is kprov's to rewrite or remove.
const Header = "# Written by kprov from the cluster spec; kprov rewrites this file on every run."

// File is one file to write on a node.
type File struct {
	Path    string
	Mode    fs.FileMode
	Content []byte
}

// ContainerdInput is what containerd's configuration is made of.
type ContainerdInput struct {
	// Upstreams are the mirrored upstream registries (Upstreams' result).
	Upstreams []Upstream
	// SandboxImage is the pause image of the cluster's Kubernetes version.
	SandboxImage string
	// CNIBinDir is where the CNI installs its plugins; empty means CNIBinDir.
	CNIBinDir string
	// CAs holds the content of each endpoint's CAFile, keyed by CAFile as
	// the spec writes it.
	CAs map[string][]byte
}

// HostDir is the hosts folder of an upstream host under CertsDir.
func HostDir(upstream string) string { return CertsDir + "/" + upstream }

// Containerd renders containerd 1.6's configuration: config.toml, then for
// each host its hosts.toml and the CA files it names.
func Containerd(in ContainerdInput) ([]File, error) {
	if in.SandboxImage == "" {
		return nil, fmt.Errorf("containerd configuration: no sandbox (pause) image")
	}
	conf, err := configTOML(in)
	if err != nil {
		return nil, err
	}
	out := []File{{Path: ConfigFile, Mode: 0o644, Content: conf}}
	for _, u := range in.Upstreams {
		files, err := hostFiles(u, in.CAs)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	return out, nil
}

// config.toml, version 2: only what kprov sets; containerd fills in the
// rest with its defaults.
type ctrConfig struct {
	Version int        `toml:"version"`
	Plugins ctrPlugins `toml:"plugins"`
}

type ctrPlugins struct {
	CRI ctrCRI `toml:"io.containerd.grpc.v1.cri"`
}

type ctrCRI struct {
	SandboxImage string         `toml:"sandbox_image"`
	CNI          ctrCNI         `toml:"cni"`
	Containerd   ctrContainerd  `toml:"containerd"`
	Registry     ctrCRIRegistry `toml:"registry"`
}

type ctrCNI struct {
	BinDir  string `toml:"bin_dir"`
	ConfDir string `toml:"conf_dir"`
}

type ctrContainerd struct {
	Runtimes map[string]ctrRuntime `toml:"runtimes"`
}

type ctrRuntime struct {
	RuntimeType string      `toml:"runtime_type"`
	Options     ctrRuncOpts `toml:"options"`
}

type ctrRuncOpts struct {
	SystemdCgroup bool `toml:"SystemdCgroup"`
}

type ctrCRIRegistry struct {
	ConfigPath string `toml:"config_path"`
}

func configTOML(in ContainerdInput) ([]byte, error) {
	bin := in.CNIBinDir
	if bin == "" {
		bin = CNIBinDir
	}
	c := ctrConfig{Version: 2, Plugins: ctrPlugins{CRI: ctrCRI{
		SandboxImage: in.SandboxImage,
		CNI:          ctrCNI{BinDir: bin, ConfDir: CNIConfDir},
		// The systemd cgroup driver, as kubeadm configures the kubelet.
		Containerd: ctrContainerd{Runtimes: map[string]ctrRuntime{"runc": {
			RuntimeType: "io.containerd.runc.v2",
			Options:     ctrRuncOpts{SystemdCgroup: true},
		}}},
		Registry: ctrCRIRegistry{ConfigPath: CertsDir},
	}}}
	body, err := toml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", ConfigFile, err)
	}
	head := Header + "\n# Settings not named here keep containerd's defaults.\n\n"
	return append([]byte(head), body...), nil
}

// hostsRoot is hosts.toml's top level: server is the host containerd tries
// after every [host] table, with the same options a [host] table has.
type hostsRoot struct {
	Server       string   `toml:"server"`
	Capabilities []string `toml:"capabilities,omitempty"`
	OverridePath bool     `toml:"override_path,omitempty"`
	CA           string   `toml:"ca,omitempty"`
}

// hostsEntry is one [host."URL"] table.
type hostsEntry struct {
	Capabilities []string `toml:"capabilities"`
	OverridePath bool     `toml:"override_path,omitempty"`
	CA           string   `toml:"ca,omitempty"`
}

// hostFiles renders u's hosts.toml and the CA files beside it.
//
// containerd 1.6 (remotes/docker/config/hosts.go) reads the [host] tables
// in file order and always tries the top-level server after them; with no
// server line it fills in the upstream itself, and a file with no [host]
// table fails to parse (containerd then pulls from the upstream). So every
// endpoint is a [host] table, and without fallback the server is the last
// mirror again: tried twice when all fail, never the upstream.
func hostFiles(u Upstream, cas map[string][]byte) ([]File, error) {
	if u.Name == "" || u.Name == "." || u.Name == ".." || strings.ContainsAny(u.Name, "/\\\x00\n") {
		return nil, fmt.Errorf("registry host %q cannot name a folder of %s: use a host name such as registry.example:5000", u.Name, CertsDir)
	}
	if len(u.Endpoints) == 0 {
		return nil, fmt.Errorf("registry %s has no mirror endpoint: list at least one", u.Name)
	}
	dir := HostDir(u.Name)
	var files []File
	caPaths := map[string]string{} // spec ca_file -> path on the node
	caOf := func(e Endpoint) (string, error) {
		if e.CAFile == "" {
			return "", nil
		}
		if p, ok := caPaths[e.CAFile]; ok {
			return p, nil
		}
		pemData, ok := cas[e.CAFile]
		if !ok {
			return "", fmt.Errorf("ca_file %q of the %s mirror was not read: pass its content in ContainerdInput.CAs", e.CAFile, u.Name)
		}
		if b, _ := pem.Decode(pemData); b == nil || b.Type != "CERTIFICATE" {
			return "", fmt.Errorf("ca_file %q holds no PEM certificate: give the CA's certificate (BEGIN CERTIFICATE)", e.CAFile)
		}
		p := CAPath(u.Name, e.CAFile)
		for other, q := range caPaths {
			if q == p && !bytes.Equal(cas[other], pemData) {
				return "", fmt.Errorf("ca_files %q and %q of the %s mirror share the name %s: rename one", other, e.CAFile, u.Name, path.Base(p))
			}
		}
		caPaths[e.CAFile] = p
		files = append(files, File{Path: p, Mode: 0o644, Content: pemData})
		return p, nil
	}

	caps := []string{"pull", "resolve"}
	var tables bytes.Buffer
	for _, e := range u.Endpoints {
		ca, err := caOf(e)
		if err != nil {
			return nil, err
		}
		// One table at a time keeps the endpoints' order, which is the
		// order containerd tries them in (a map would be sorted).
		b, err := toml.Marshal(map[string]hostsEntry{e.URL: {Capabilities: caps, OverridePath: e.OverridePath, CA: ca}})
		if err != nil {
			return nil, fmt.Errorf("render hosts.toml of %s: %w", u.Name, err)
		}
		// b is "[KEY]\n...": make it "[host.KEY]\n...".
		tables.WriteString("\n[host." + strings.TrimPrefix(string(b), "["))
	}
	root := hostsRoot{Server: u.Server()}
	note := "# containerd tries each [host] in order, then server: the upstream itself (fallback).\n"
	if !u.Fallback {
		last := u.Endpoints[len(u.Endpoints)-1]
		ca, err := caOf(last)
		if err != nil {
			return nil, err
		}
		root = hostsRoot{Server: last.URL, Capabilities: caps, OverridePath: last.OverridePath, CA: ca}
		note = fmt.Sprintf("# containerd tries each [host] in order, then server: the last mirror again, never %s itself.\n", u.Name)
	}
	b, err := toml.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("render hosts.toml of %s: %w", u.Name, err)
	}
	var doc bytes.Buffer
	doc.WriteString(Header + "\n" + note + "\n")
	doc.Write(b)
	doc.Write(tables.Bytes())
	hosts := File{Path: dir + "/hosts.toml", Mode: 0o644, Content: doc.Bytes()}
	return append([]File{hosts}, files...), nil
}

// CAPath is where a mirror's ca_file lives on a node: in the hosts folder
// of its upstream, named by caName.
func CAPath(upstream, caFile string) string { return HostDir(upstream) + "/" + caName(caFile) }

// caName is the file name a spec's ca_file gets in its hosts folder: its
// base name with .crt (containerd's and Docker's CA extension).
func caName(caFile string) string {
	base := path.Base(strings.ReplaceAll(caFile, "\\", "/"))
	base = strings.TrimSuffix(strings.TrimSuffix(base, ".pem"), ".crt")
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, base)
	if clean == "" || strings.Trim(clean, ".") == "" {
		clean = "ca"
	}
	return clean + ".crt"
}
