package nodeprep

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/golden"
	"github.com/kprov/kprov/provision/spec"
)

func cluster(t *testing.T, mode, sched string) *spec.Cluster {
	t.Helper()
	c := &spec.Cluster{Name: "t", KubeProxy: &spec.KubeProxy{Mode: mode, IPVSScheduler: sched}}
	if err := spec.Normalize(c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestParseKernel(t *testing.T) {
	cases := map[string]Kernel{
		"6.1.0-18-cloud-amd64":         {6, 1},
		"4.19.0-27-amd64":              {4, 19},
		"4.18.0-553.el8_10.x86_64":     {4, 18},
		"3.10.0-1160.el7.x86_64\n":     {3, 10},
		"5.15.0-1051-azure":            {5, 15},
		"6.12.9+bpo-cloud-amd64":       {6, 12},
		"4.19-rc1":                     {4, 19},
		"10.2.1-custom+":               {10, 2},
		"6.1.0-18-cloud-amd64 extra  ": {6, 1},
	}
	for in, want := range cases {
		got, err := ParseKernel(in)
		if err != nil || got != want {
			t.Errorf("ParseKernel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "six", "6", "x.y"} {
		if _, err := ParseKernel(bad); err == nil {
			t.Errorf("ParseKernel(%q) succeeded", bad)
		}
	}
}

// nf_conntrack_ipv4 was merged into nf_conntrack in 4.19: asking for it on
// a newer kernel fails (seen in the lab on 6.1).
func TestConntrackModuleByKernel(t *testing.T) {
	cases := []struct {
		k    Kernel
		want string
	}{{Kernel{3, 10}, "nf_conntrack_ipv4"}, {Kernel{4, 18}, "nf_conntrack_ipv4"}, {Kernel{4, 19}, "nf_conntrack"}, {Kernel{5, 4}, "nf_conntrack"}, {Kernel{6, 1}, "nf_conntrack"}}
	for _, c := range cases {
		p, err := For(cluster(t, "ipvs", ""), c.k)
		if err != nil {
			t.Fatal(err)
		}
		other := "nf_conntrack_ipv4"
		if c.want == other {
			other = "nf_conntrack"
		}
		if !slices.Contains(p.Modules, c.want) || slices.Contains(p.Modules, other) {
			t.Errorf("kernel %v: modules %v, want %s and not %s", c.k, p.Modules, c.want, other)
		}
	}
}

func TestIPVSModulesFollowScheduler(t *testing.T) {
	p, err := For(cluster(t, "ipvs", "lc"), ModernKernel)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "ip_vs_lc", "br_netfilter"} {
		if !slices.Contains(p.Modules, m) {
			t.Errorf("module %s missing from %v", m, p.Modules)
		}
		if !strings.Contains(string(p.Files[0].Content), "\n"+m+"\n") {
			t.Errorf("module %s not persisted in %s", m, p.Files[0].Path)
		}
	}
	if !slices.Contains(p.Packages, "ipvsadm") || !slices.Contains(p.Packages, "ipset") {
		t.Errorf("packages %v lack ipset/ipvsadm", p.Packages)
	}
}

// TestHostToolsEveryMode: kubeadm's preflight looks for these on every
// node (FileExisting-*), whatever kube-proxy's mode.
func TestHostToolsEveryMode(t *testing.T) {
	for _, mode := range []string{"ipvs", "iptables", "nftables"} {
		p, err := For(cluster(t, mode, ""), ModernKernel)
		if err != nil {
			t.Fatal(err)
		}
		for _, pkg := range []string{"conntrack", "iptables", "socat", "ebtables", "ethtool"} {
			if !slices.Contains(p.Packages, pkg) {
				t.Errorf("%s: packages %v lack %s", mode, p.Packages, pkg)
			}
		}
	}
}

func TestNftablesNeedsNoIPVS(t *testing.T) {
	p, err := For(cluster(t, "nftables", ""), ModernKernel)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range p.Modules {
		if strings.HasPrefix(m, "ip_vs") {
			t.Errorf("nftables mode loads %s", m)
		}
	}
}

func TestGoldenFiles(t *testing.T) {
	for _, k := range []Kernel{{4, 14}, ModernKernel} {
		p, err := For(cluster(t, "ipvs", "rr"), k)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range p.Files {
			name := strings.ReplaceAll(strings.TrimPrefix(f.Path, "/"), "/", "_")
			golden.Assert(t, fmt.Sprintf("kernel-%d.%d/%s", k.Major, k.Minor, name), f.Content)
		}
	}
}
