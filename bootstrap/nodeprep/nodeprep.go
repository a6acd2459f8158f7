// Package nodeprep plans what a node needs before kubeadm runs: kernel
// modules loaded now and at every boot, sysctls, swap off, packages. The plan
// is pure data; the SSH executor applies it, each step looking first.
package nodeprep

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/templates"
)

// Paths of the files the plan writes on a node.
const (
	ModulesFile = "/etc/modules-load.d/kprov.conf"
	SysctlFile  = "/etc/sysctl.d/90-kprov.conf"
)

// Kernel is a kernel release as `uname -r` prints it (6.1.0-18-cloud-amd64).
type Kernel struct{ Major, Minor int }

// ParseKernel reads the major and minor numbers of a `uname -r` string.
func ParseKernel(release string) (Kernel, error) {
	parts := strings.SplitN(strings.TrimSpace(release), ".", 3)
	if len(parts) < 2 {
		return Kernel{}, fmt.Errorf("kernel release %q is not MAJOR.MINOR...", release)
	}
	major, err1 := strconv.Atoi(parts[0])
	digits := strings.IndexFunc(parts[1]+"x", func(r rune) bool { return r < '0' || r > '9' })
	minor, err2 := strconv.Atoi(parts[1][:digits])
	if err1 != nil || err2 != nil {
		return Kernel{}, fmt.Errorf("kernel release %q is not MAJOR.MINOR...", release)
	}
	return Kernel{major, minor}, nil
}

// AtLeast reports whether k is major.minor or newer.
func (k Kernel) AtLeast(major, minor int) bool {
	return k.Major > major || (k.Major == major && k.Minor >= minor)
}

// ModernKernel stands for any kernel >= 4.19, what every current cloud
// image runs; render uses it when no node has been probed yet.
var ModernKernel = Kernel{6, 1}

// Sysctl is one kernel setting.
type Sysctl struct{ Key, Value string }

// File is a file the plan writes.
type File struct {
	Path    string
	Mode    uint32
	Content []byte
}

// Plan is everything a node is prepared with.
type Plan struct {
	Modules  []string // loaded with modprobe and listed in ModulesFile
	Sysctls  []Sysctl
	Packages []string // Debian package names that must be installed
	SwapOff  bool
	Files    []File
}

// ConntrackModule is nf_conntrack_ipv4 on kernels before 4.19, which split
// it out, and nf_conntrack on every later kernel, where the old name is gone.
func ConntrackModule(k Kernel) string {
	if k.AtLeast(4, 19) {
		return "nf_conntrack"
	}
	return "nf_conntrack_ipv4"
}

// For plans the preparation of a node of c running kernel k.
func For(c *spec.Cluster, k Kernel) (Plan, error) {
	p := Plan{
		Modules:  []string{"overlay", "br_netfilter"},
		Packages: []string{"conntrack", "iptables", "socat", "ebtables", "ethtool"},
		Sysctls: []Sysctl{
			{"net.bridge.bridge-nf-call-ip6tables", "1"},
			{"net.bridge.bridge-nf-call-iptables", "1"},
			{"net.ipv4.ip_forward", "1"},
		},
		SwapOff: true,
	}
	switch c.KubeProxy.Mode {
	case "ipvs":
		mods := []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh"}
		if s := "ip_vs_" + c.KubeProxy.IPVSScheduler; !contains(mods, s) {
			mods = append(mods, s)
		}
		p.Modules = append(p.Modules, mods...)
		p.Modules = append(p.Modules, ConntrackModule(k))
		p.Packages = append(p.Packages, "ipset", "ipvsadm")
	case "nftables":
		p.Modules = append(p.Modules, "nf_tables", ConntrackModule(k))
		p.Packages = append(p.Packages, "nftables")
	default:
		p.Modules = append(p.Modules, ConntrackModule(k))
	}
	modules, err := templates.Render("modules-load.conf.tmpl", p.Modules)
	if err != nil {
		return Plan{}, err
	}
	sysctls, err := templates.Render("sysctl.conf.tmpl", p.Sysctls)
	if err != nil {
		return Plan{}, err
	}
	p.Files = []File{
		{Path: ModulesFile, Mode: 0o644, Content: modules},
		{Path: SysctlFile, Mode: 0o644, Content: sysctls},
	}
	return p, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
