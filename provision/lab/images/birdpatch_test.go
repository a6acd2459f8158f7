package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"text/template"
)

// calicoDir is the Calico monorepo in the module cache (downloaded through
// the proxy if need be).
func calicoDir(t *testing.T) string {
	t.Helper()
	dir, err := NewEnv("../../..", t.TempDir(), os.Stderr).ModuleDir(calicoModule, calicoPseudo)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func readCalico(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(calicoDir(t), path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func upstreamBirdIPAM(t *testing.T) []byte {
	return readCalico(t, "confd/etc/calico/confd/templates/bird_ipam.cfg.template")
}

func TestPatchBirdIPAMRefusesAChangedTemplate(t *testing.T) {
	up := string(upstreamBirdIPAM(t))
	patched, err := patchBirdIPAM([]byte(up))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]string{
		"no statements":        strings.ReplaceAll(strings.ReplaceAll(up, krtNoTunnel, ""), krtPoolTunnel, ""),
		"one pool statement":   strings.Replace(up, krtPoolTunnel, "", 2),
		"an extra no-tunnel":   up + "\n" + krtNoTunnel + "\n",
		"another krt_tunnel":   up + "\n  krt_tunnel = \"{{$data.vxlan}}\";\n",
		"spacing changed":      strings.ReplaceAll(up, krtNoTunnel, `krt_tunnel="";`),
		"already patched":      string(patched),
		"empty (file renamed)": "",
	} {
		if _, err := patchBirdIPAM([]byte(in)); err == nil {
			t.Errorf("%s: patchBirdIPAM accepted it", name)
		} else if !strings.Contains(err.Error(), "upstream changed") {
			t.Errorf("%s: error does not say what to do: %v", name, err)
		}
	}
	if err := patchFile([]File{{Path: "etc/other"}}, birdIPAMTemplate, patchBirdIPAM); err == nil {
		t.Error("patchFile accepted files without the template")
	}
}

// confdPool is a v1 IP pool as confd's store holds it (model.IPPool's JSON).
type confdPool struct {
	CIDR      string `json:"cidr"`
	IPIP      string `json:"ipip"`
	IPIPMode  string `json:"ipip_mode"`
	VXLANMode string `json:"vxlan_mode"`
	NAT       bool   `json:"masquerade"`
	IPAM      bool   `json:"ipam"`
	Disabled  bool   `json:"disabled"`
	NoExport  bool   `json:"disableBGPExport"`
}

// renderConfd renders a confd template with confd's functions over a
// store holding node kube-master (network 10.192.0.0/16) and pool, as
// confd's mesh tests do.
func renderConfd(t *testing.T, text []byte, pool confdPool) string {
	t.Helper()
	pj, err := json.Marshal(pool)
	if err != nil {
		t.Fatal(err)
	}
	store := map[string]string{
		"/v1/ipam/v4/pool/" + strings.ReplaceAll(pool.CIDR, "/", "-"): string(pj),
		"/bgp/v1/host/kube-master/network_v4":                         "10.192.0.0/16",
	}
	funcs := template.FuncMap{
		"ls": func(dir string) []string {
			seen := map[string]bool{}
			var out []string
			for k := range store {
				if rest, ok := strings.CutPrefix(k, dir+"/"); ok {
					name, _, _ := strings.Cut(rest, "/")
					if !seen[name] {
						seen[name] = true
						out = append(out, name)
					}
				}
			}
			sort.Strings(out)
			return out
		},
		"getv": func(k string, def ...string) (string, error) {
			if v, ok := store[k]; ok {
				return v, nil
			}
			if len(def) > 0 {
				return def[0], nil
			}
			return "", os.ErrNotExist
		},
		"exists": func(k string) bool { _, ok := store[k]; return ok },
		"json": func(s string) (map[string]any, error) {
			var m map[string]any
			return m, json.Unmarshal([]byte(s), &m)
		},
		"getenv": func(k string, def ...string) string {
			if k == "NODENAME" {
				return "kube-master"
			}
			return ""
		},
		"split":    strings.Split,
		"join":     strings.Join,
		"contains": strings.Contains,
	}
	tmpl, err := template.New("bird_ipam.cfg.template").Funcs(funcs).Parse(string(text))
	if err != nil {
		t.Fatalf("the template does not parse: %v", err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, nil); err != nil {
		t.Fatalf("the template does not render: %v", err)
	}
	return out.String()
}

// birdCases are confd's compiled mesh tests with the pool each has and
// what the patched template must render (the compiled file with
// `krt_tunnel = "";` dropped).
var birdCases = []struct {
	test string
	pool confdPool
}{
	{"ipip-off", confdPool{CIDR: "192.168.0.0/16", NAT: true, IPAM: true}},
	{"ipip-always", confdPool{CIDR: "192.168.0.0/16", IPIP: "tunl0", IPIPMode: "always", NAT: true, IPAM: true}},
	{"ipip-cross-subnet", confdPool{CIDR: "192.168.0.0/16", IPIP: "tunl0", IPIPMode: "cross-subnet", NAT: true, IPAM: true}},
}

func TestPatchedBirdIPAMRendersAsConfdLessNoTunnel(t *testing.T) {
	up := upstreamBirdIPAM(t)
	patched, err := patchBirdIPAM(up)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range birdCases {
		compiled := string(readCalico(t, "confd/tests/compiled_templates/mesh/"+c.test+"/bird_ipam.cfg"))
		// The unpatched render matching confd's own output shows the
		// store and functions above are confd's.
		if got := renderConfd(t, up, c.pool); got != compiled {
			t.Fatalf("%s: upstream's template rendered here differs from confd's compiled test:\n%s", c.test, got)
		}
		// A dropped statement leaves blank space (or, where the template
		// trims the spaces before it, no line).
		got := renderConfd(t, patched, c.pool)
		want := strings.ReplaceAll(compiled, krtNoTunnel, "")
		if nonBlank(got) != nonBlank(want) || c.pool.IPIPMode == "" && got != want {
			t.Errorf("%s: the patched template gives\n%s\nwant\n%s", c.test, got, want)
		}
		if has := strings.Contains(got, "krt_tunnel"); has != (c.pool.IPIP != "") {
			t.Errorf("%s (ipip %q): krt_tunnel in the output is %v", c.test, c.pool.IPIP, has)
		}
	}
}

// nonBlank is s without its blank lines.
func nonBlank(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// birdParse writes files into a folder and runs `bird -p` (parse only) on
// its bird.cfg.
func birdParse(t *testing.T, files map[string]string) (string, error) {
	t.Helper()
	bird, err := exec.LookPath("bird")
	if err != nil {
		t.Fatalf("bird not found: %v: apt-get install bird (Debian's BIRD 1.6, the calico/node image's)", err)
	}
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(bird, "-p", "-c", filepath.Join(dir, "bird.cfg")).CombinedOutput()
	return string(out), err
}

// minimalBird is a bird.cfg with the functions bird_ipam.cfg calls and a
// kernel protocol exporting through its filter.
const minimalBird = `router id 10.192.0.2;
function apply_communities () { }
function calico_aggr () { }
include "bird_ipam.cfg";
protocol device { }
protocol kernel { export filter calico_kernel_programming; }
`

func TestDebianBirdParsesPatchedPureBGP(t *testing.T) {
	up := upstreamBirdIPAM(t)
	patched, err := patchBirdIPAM(up)
	if err != nil {
		t.Fatal(err)
	}
	off := birdCases[0]
	compiled := string(readCalico(t, "confd/tests/compiled_templates/mesh/ipip-off/bird_ipam.cfg"))

	// Upstream's output is what Debian's BIRD refuses.
	if out, err := birdParse(t, map[string]string{"bird.cfg": minimalBird, "bird_ipam.cfg": compiled}); err == nil {
		t.Errorf("bird accepted upstream's bird_ipam.cfg with krt_tunnel (the patch would be needless): %s", out)
	}
	// The brief's rule on the compiled file, and the patched template's own
	// render, both parse.
	for name, ipam := range map[string]string{
		"compiled less no-tunnel":    strings.ReplaceAll(compiled, krtNoTunnel, ""),
		"patched template, ipip off": renderConfd(t, patched, off.pool),
	} {
		if out, err := birdParse(t, map[string]string{"bird.cfg": minimalBird, "bird_ipam.cfg": ipam}); err != nil {
			t.Errorf("%s: bird -p refused it: %v: %s\n%s", name, err, out, ipam)
		}
	}
	// confd's whole compiled pure-BGP mesh config, with the patched render.
	files := map[string]string{"bird_ipam.cfg": renderConfd(t, patched, off.pool)}
	for _, f := range []string{"bird.cfg", "bird_aggr.cfg"} {
		files[f] = string(readCalico(t, "confd/tests/compiled_templates/mesh/ipip-off/"+f))
	}
	if out, err := birdParse(t, files); err != nil {
		t.Errorf("bird -p refused confd's mesh/ipip-off bird.cfg with the patched bird_ipam.cfg: %v: %s", err, out)
	}
	// IPIP pools still need Calico's fork: Debian's BIRD fails loudly.
	for _, c := range birdCases[1:] {
		ipam := renderConfd(t, patched, c.pool)
		if out, err := birdParse(t, map[string]string{"bird.cfg": minimalBird, "bird_ipam.cfg": ipam}); err == nil {
			t.Errorf("%s: bird accepted a config with an IPIP pool: %s\n%s", c.test, out, ipam)
		}
	}
}

func TestCalicoNodeHasThePatchedTemplate(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	img, err := calicoNode(NewEnv(root, t.TempDir(), os.Stderr))
	if err != nil {
		t.Fatal(err)
	}
	want, err := patchBirdIPAM(upstreamBirdIPAM(t))
	if err != nil {
		t.Fatal(err)
	}
	n, runs := 0, 0
	for _, f := range img.Layers[len(img.Layers)-1].Files {
		// What start_runit and runit execute must be executable.
		if f.Path == "etc/rc.local" || f.Path == "usr/sbin/start_runit" || strings.HasSuffix(f.Path, "/run") {
			runs++
			if f.Mode&0o111 == 0 {
				t.Errorf("%s is mode %o in the image: start_runit cannot run it", f.Path, f.Mode)
			}
		}
		if f.Path == birdIPAMTemplate {
			n++
			if !bytes.Equal(f.Data, want) {
				t.Errorf("%s in the image is not the patched template", f.Path)
			}
		}
	}
	if n != 1 {
		t.Errorf("the image has %d %s, want 1", n, birdIPAMTemplate)
	}
	if runs < 10 {
		t.Errorf("only %d of calico-node's start-up files and runit services found", runs)
	}
}

// Module zips keep no modes: scripts still come out executable.
func TestHostFileModes(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		data string
		mode int64
	}{
		"run":       {"#!/bin/sh\nexec bird\n", 0o755},
		"bird.conf": {"router id 1.2.3.4;\n", 0o644},
		// No "#!", yet start_runit runs it directly.
		"rc.local": {"# Handle old CALICO_NETWORKING\n", 0o755},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(tc.data), 0o444); err != nil {
			t.Fatal(err)
		}
		f, err := hostFile(p, "etc/"+name)
		if err != nil || f.Mode != tc.mode {
			t.Errorf("%s: mode %o %v, want %o", name, f.Mode, err, tc.mode)
		}
	}
}
