package registry

import (
	"encoding/base64"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/kprov/kprov/internal/golden"
	"github.com/kprov/kprov/provision/spec"
)

// testCA is a PEM block of type CERTIFICATE; containerd's rendering only
// copies it, so its body need not be a real certificate.
func testCA(name string) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString([]byte("kprov test CA "+name)) + "\n-----END CERTIFICATE-----\n")
}

func yes() *bool { return new(true) }

// Every rendered file of each case is kept as a golden file under
// testdata/golden/containerd/<case>/<path on the node>.
func TestContainerdGolden(t *testing.T) {
	cases := []struct {
		name string
		reg  *spec.Registries
		cas  map[string][]byte
	}{
		{name: "no-registries"},
		{name: "mirror-all-plain-http", reg: &spec.Registries{MirrorAll: "http://10.77.0.1:5000", PlainHTTP: true}},
		{name: "per-host", reg: &spec.Registries{Mirrors: []*spec.Mirror{
			{Registry: "registry.k8s.io", Endpoints: []string{"https://mirror-b.example:5000", "https://mirror-a.example/"}, CAFile: "certs/lab-ca.pem", Fallback: yes()},
			{Registry: "quay.io", Endpoints: []string{"https://mirror-a.example"}, CAFile: "certs/lab-ca.pem"},
		}}, cas: map[string][]byte{"certs/lab-ca.pem": testCA("lab")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &spec.Cluster{Registries: tc.reg}
			files, err := Containerd(ContainerdInput{Upstreams: Upstreams(c, []string{"registry.k8s.io/pause:3.9"}), SandboxImage: "registry.k8s.io/pause:3.9", CAs: tc.cas})
			if err != nil {
				t.Fatal(err)
			}
			if files[0].Path != ConfigFile {
				t.Errorf("first file %s, want %s", files[0].Path, ConfigFile)
			}
			for _, f := range files {
				if f.Mode != 0o644 {
					t.Errorf("%s: mode %o", f.Path, f.Mode)
				}
				if strings.HasSuffix(f.Path, ".toml") {
					if !strings.HasPrefix(string(f.Content), Header+"\n") {
						t.Errorf("%s does not start with kprov's header", f.Path)
					}
					var any map[string]any
					if err := toml.Unmarshal(f.Content, &any); err != nil {
						t.Errorf("%s is not TOML: %v", f.Path, err)
					}
				}
				golden.Assert(t, "containerd/"+tc.name+f.Path, f.Content)
			}
			again, _ := Containerd(ContainerdInput{Upstreams: Upstreams(c, []string{"registry.k8s.io/pause:3.9"}), SandboxImage: "registry.k8s.io/pause:3.9", CAs: tc.cas})
			for i := range files {
				if string(again[i].Content) != string(files[i].Content) || again[i].Path != files[i].Path {
					t.Errorf("%s: a second rendering differs", files[i].Path)
				}
			}
		})
	}
}

// config.toml carries what kprov needs, read back as containerd reads it.
func TestContainerdConfigValues(t *testing.T) {
	files, err := Containerd(ContainerdInput{SandboxImage: "registry.lab:5000/k8s/pause:3.9"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 {
		t.Fatalf("%d files without registries, want config.toml only", len(files))
	}
	var c struct {
		Version int
		Plugins map[string]struct {
			SandboxImage string `toml:"sandbox_image"`
			CNI          struct {
				BinDir  string `toml:"bin_dir"`
				ConfDir string `toml:"conf_dir"`
			} `toml:"cni"`
			Containerd struct {
				Runtimes map[string]struct {
					RuntimeType string         `toml:"runtime_type"`
					Options     map[string]any `toml:"options"`
				} `toml:"runtimes"`
			} `toml:"containerd"`
			Registry struct {
				ConfigPath string `toml:"config_path"`
			} `toml:"registry"`
		} `toml:"plugins"`
	}
	if err := toml.Unmarshal(files[0].Content, &c); err != nil {
		t.Fatal(err)
	}
	cri := c.Plugins["io.containerd.grpc.v1.cri"]
	runc := cri.Containerd.Runtimes["runc"]
	if c.Version != 2 || cri.SandboxImage != "registry.lab:5000/k8s/pause:3.9" || cri.CNI.BinDir != "/opt/cni/bin" ||
		cri.CNI.ConfDir != "/etc/cni/net.d" || cri.Registry.ConfigPath != "/etc/containerd/certs.d" ||
		runc.RuntimeType != "io.containerd.runc.v2" || runc.Options["SystemdCgroup"] != true {
		t.Errorf("config.toml reads back as %+v", c)
	}
}

// hostsFile is a hosts.toml read back: server, top-level options and the
// [host] tables in the order they are written (containerd's order).
type hostsFile struct {
	root  map[string]any
	order []string
}

func readHosts(t *testing.T, b []byte) hostsFile {
	t.Helper()
	var h hostsFile
	if err := toml.Unmarshal(b, &h.root); err != nil {
		t.Fatalf("hosts.toml: %v\n%s", err, b)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "[host.") {
			var key map[string]map[string]any
			if err := toml.Unmarshal([]byte(l), &key); err != nil {
				t.Fatal(err)
			}
			for k := range key["host"] {
				h.order = append(h.order, k)
			}
		}
	}
	return h
}

func TestContainerdHosts(t *testing.T) {
	cases := []struct {
		name  string
		host  Upstream
		files []string // paths after config.toml
		// server, then the [host] tables in order
		server string
		order  []string
	}{
		{
			name:   "a host with a port keeps its colon",
			host:   Upstream{Name: "registry.example:5000", Endpoints: []Endpoint{{URL: "https://mirror.example"}}},
			files:  []string{"/etc/containerd/certs.d/registry.example:5000/hosts.toml"},
			server: "https://mirror.example",
			order:  []string{"https://mirror.example"},
		},
		{
			name:   "docker.io falls back to registry-1.docker.io",
			host:   Upstream{Name: "docker.io", Fallback: true, Endpoints: []Endpoint{{URL: "https://hub-mirror.example"}}},
			files:  []string{"/etc/containerd/certs.d/docker.io/hosts.toml"},
			server: "https://registry-1.docker.io",
			order:  []string{"https://hub-mirror.example"},
		},
		{
			name: "without fallback the last mirror is the server",
			host: Upstream{Name: "docker.io", Endpoints: []Endpoint{
				{URL: "https://z.example"}, {URL: "https://a.example"}, {URL: "http://m.example:5000", PlainHTTP: true},
			}},
			files:  []string{"/etc/containerd/certs.d/docker.io/hosts.toml"},
			server: "http://m.example:5000",
			order:  []string{"https://z.example", "https://a.example", "http://m.example:5000"},
		},
		{
			name: "mirror_all keeps its path",
			host: Upstream{Name: "quay.io", Fallback: true, Endpoints: []Endpoint{
				{URL: "https://all.example/v2/quay.io", OverridePath: true, CAFile: "/abs/ca.crt"},
			}},
			files:  []string{"/etc/containerd/certs.d/quay.io/hosts.toml", "/etc/containerd/certs.d/quay.io/ca.crt"},
			server: "https://quay.io",
			order:  []string{"https://all.example/v2/quay.io"},
		},
		{
			name: "mirror_all without fallback repeats its options in server",
			host: Upstream{Name: "quay.io", Endpoints: []Endpoint{
				{URL: "https://all.example/v2/quay.io", OverridePath: true, CAFile: "/abs/ca.crt"},
			}},
			files:  []string{"/etc/containerd/certs.d/quay.io/hosts.toml", "/etc/containerd/certs.d/quay.io/ca.crt"},
			server: "https://all.example/v2/quay.io",
			order:  []string{"https://all.example/v2/quay.io"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files, err := Containerd(ContainerdInput{Upstreams: []Upstream{tc.host}, SandboxImage: "registry.k8s.io/pause:3.9", CAs: map[string][]byte{"/abs/ca.crt": testCA("abs")}})
			if err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, f := range files[1:] {
				paths = append(paths, f.Path)
			}
			if strings.Join(paths, " ") != strings.Join(tc.files, " ") {
				t.Errorf("files %v, want %v", paths, tc.files)
			}
			h := readHosts(t, files[1].Content)
			if h.root["server"] != tc.server {
				t.Errorf("server %v, want %s", h.root["server"], tc.server)
			}
			// containerd 1.6 refuses a hosts.toml without a [host] table
			// and then pulls from the upstream.
			if strings.Join(h.order, " ") != strings.Join(tc.order, " ") || len(h.order) == 0 {
				t.Errorf("[host] tables %v, want %v", h.order, tc.order)
			}
			text := string(files[1].Content)
			if strings.Contains(text, "skip_verify") {
				t.Error("hosts.toml turns TLS verification off")
			}
			for _, e := range tc.host.Endpoints {
				if e.OverridePath && strings.Count(text, "override_path = true") != 1+btoi(!tc.host.Fallback) {
					t.Errorf("no override_path for %s", e.URL)
				}
				if e.CAFile != "" && strings.Count(text, "ca = '"+HostDir(tc.host.Name)+"/ca.crt'") != 1+btoi(!tc.host.Fallback) {
					t.Errorf("no ca for %s:\n%s", e.URL, text)
				}
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestContainerdRefuses(t *testing.T) {
	ep := []Endpoint{{URL: "https://m.example", CAFile: "ca.pem"}}
	cases := []struct {
		name string
		in   ContainerdInput
		want string
	}{
		{"no pause image", ContainerdInput{}, "no sandbox (pause) image"},
		{"a host that escapes certs.d", ContainerdInput{Upstreams: []Upstream{{Name: "../etc", Endpoints: ep}}}, `registry host "../etc" cannot name a folder`},
		{"a host with no endpoint", ContainerdInput{Upstreams: []Upstream{{Name: "quay.io"}}}, "registry quay.io has no mirror endpoint"},
		{"an unread CA", ContainerdInput{Upstreams: []Upstream{{Name: "quay.io", Endpoints: ep}}}, `ca_file "ca.pem" of the quay.io mirror was not read`},
		{"a CA that is no PEM", ContainerdInput{Upstreams: []Upstream{{Name: "quay.io", Endpoints: ep}}, CAs: map[string][]byte{"ca.pem": []byte("not pem")}}, `ca_file "ca.pem" holds no PEM certificate`},
		{"two CAs with one name", ContainerdInput{Upstreams: []Upstream{{Name: "quay.io", Endpoints: []Endpoint{
			{URL: "https://a.example", CAFile: "a/ca.pem"}, {URL: "https://b.example", CAFile: "b/ca.pem"},
		}}}, CAs: map[string][]byte{"a/ca.pem": testCA("a"), "b/ca.pem": testCA("b")}}, "share the name ca.crt"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.SandboxImage == "" && tc.name != "no pause image" {
				tc.in.SandboxImage = "registry.k8s.io/pause:3.9"
			}
			_, err := Containerd(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestCAName(t *testing.T) {
	for in, want := range map[string]string{
		"certs/lab-ca.pem": "lab-ca.crt", "/etc/ssl/My CA.crt": "My_CA.crt", "ca": "ca.crt", "..": "ca.crt", `c:\x\root.pem`: "root.crt",
	} {
		if got := caName(in); got != want {
			t.Errorf("caName(%q) = %q, want %q", in, got, want)
		}
	}
}
