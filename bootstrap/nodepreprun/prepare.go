// Package nodepreprun readies a node for kubeadm over SSH: kernel modules
// loaded now and at boot, sysctls, swap off, host packages, containerd with
// the systemd cgroup driver, the cluster's pause image and its registry
// mirrors. Every step looks before it acts, so running it
// again changes nothing.
package nodepreprun

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/kprov/kprov/bootstrap/nodeprep"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/provision/spec"
)

// Result says what a step changed on a node.
type Result struct {
	Node    string
	Changed []string
}

// Options are what a node's preparation needs besides the spec.
type Options struct {
	// SpecDir is the spec's folder, where relative registries ca_file
	// paths start.
	SpecDir string
	// Images are every image the cluster runs (images.List): a
	// mirror_all mirrors their registry hosts too.
	Images []string
}

// Node prepares one node of c. It returns what it changed (nothing on a
// prepared node).
func Node(ctx context.Context, n remote.Node, c *spec.Cluster, o Options) (Result, error) {
	r := Result{Node: n.Name()}
	ctrFiles, err := containerdFiles(c, o)
	if err != nil {
		return r, err
	}
	osRelease, err := n.Run(ctx, "cat /etc/os-release 2>/dev/null || true")
	if err != nil {
		return r, err
	}
	if pretty, ok := debianFamily(osRelease); !ok {
		return r, &OSError{Node: n.Name(), Pretty: pretty}
	}
	release, err := n.Run(ctx, "uname -r")
	if err != nil {
		return r, err
	}
	k, err := nodeprep.ParseKernel(release)
	if err != nil {
		return r, fmt.Errorf("node %s: %w", n.Name(), err)
	}
	plan, err := nodeprep.For(c, k)
	if err != nil {
		return r, err
	}
	steps := []func(context.Context, remote.Node, nodeprep.Plan, *Result) error{
		packages, files, modules, sysctls, swapOff, resolvConf,
		func(ctx context.Context, n remote.Node, _ nodeprep.Plan, r *Result) error {
			return containerd(ctx, n, ctrFiles, r)
		},
	}
	for _, step := range steps {
		if err := step(ctx, n, plan, &r); err != nil {
			return r, err
		}
	}
	return r, nil
}

// packages installs the Debian packages that are missing.
func packages(ctx context.Context, n remote.Node, p nodeprep.Plan, r *Result) error {
	want := append(append([]string{}, p.Packages...), "containerd", "curl", "ca-certificates")
	// One query for every package: a prepared node answers in one round trip.
	q := "dpkg-query -W -f='${Package} ${Status}\\n'"
	for _, pkg := range want {
		q += " " + remote.Quote(pkg)
	}
	out, err := n.Run(ctx, q+" 2>/dev/null || true")
	if err != nil {
		return err
	}
	installed := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		name, status, _ := strings.Cut(line, " ")
		if strings.Contains(status, "install ok installed") {
			installed[name] = true
		}
	}
	var missing []string
	for _, pkg := range want {
		if !installed[pkg] {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	quoted := make([]string, len(missing))
	for i, m := range missing {
		quoted[i] = remote.Quote(m)
	}
	cmd := "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends " + strings.Join(quoted, " ")
	if _, err := n.Run(ctx, cmd); err != nil {
		// The package lists may be stale on a fresh cloud image.
		if _, err := n.Run(ctx, "apt-get update && "+cmd); err != nil {
			return Unreachable(err, "its package source", packageHint)
		}
	}
	r.Changed = append(r.Changed, "installed "+strings.Join(missing, " "))
	return nil
}

// files writes the module and sysctl files whose content differs.
func files(ctx context.Context, n remote.Node, p nodeprep.Plan, r *Result) error {
	for _, f := range p.Files {
		have, err := n.Run(ctx, "cat "+remote.Quote(f.Path)+" 2>/dev/null || true")
		if err != nil {
			return err
		}
		if have == string(f.Content) {
			continue
		}
		if err := n.Upload(ctx, f.Path, f.Content, 0o644); err != nil {
			return err
		}
		r.Changed = append(r.Changed, "wrote "+f.Path)
	}
	return nil
}

// modules loads the planned modules that are not loaded yet, looking at
// all of them in one command.
func modules(ctx context.Context, n remote.Node, p nodeprep.Plan, r *Result) error {
	if len(p.Modules) == 0 {
		return nil
	}
	quoted := make([]string, len(p.Modules))
	for i, m := range p.Modules {
		quoted[i] = remote.Quote(m)
	}
	out, err := n.Run(ctx, "for m in "+strings.Join(quoted, " ")+"; do [ -d \"/sys/module/$m\" ] || echo \"$m\"; done")
	if err != nil {
		return err
	}
	var missing []string
	for _, m := range strings.Split(out, "\n") {
		if m != "" {
			missing = append(missing, remote.Quote(m))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := n.Run(ctx, "modprobe -a "+strings.Join(missing, " ")); err != nil {
		return err
	}
	r.Changed = append(r.Changed, "loaded "+strings.Join(missing, " "))
	return nil
}

// sysctls applies the planned settings whose live value differs, reading
// them all in one command.
func sysctls(ctx context.Context, n remote.Node, p nodeprep.Plan, r *Result) error {
	if len(p.Sysctls) == 0 {
		return nil
	}
	cmd := ""
	for _, s := range p.Sysctls {
		cmd += "sysctl -n " + remote.Quote(s.Key) + "; "
	}
	out, err := n.Run(ctx, cmd)
	if err != nil {
		return err
	}
	have := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for i, s := range p.Sysctls {
		if i < len(have) && strings.TrimSpace(have[i]) == s.Value {
			continue
		}
		if _, err := n.Run(ctx, "sysctl -q -w "+remote.Quote(s.Key+"="+s.Value)); err != nil {
			return err
		}
		r.Changed = append(r.Changed, "set "+s.Key+"="+s.Value)
	}
	return nil
}

// resolvConf makes sure /etc/resolv.conf exists: the kubelet builds every
// pod's DNS from it and starts no pod without it (images made for
// networks without DNS may lack it). An empty file means no upstream
// resolvers, which is what such a node has.
func resolvConf(ctx context.Context, n remote.Node, _ nodeprep.Plan, r *Result) error {
	out, err := n.Run(ctx, "if [ -e /etc/resolv.conf ]; then echo present; else touch /etc/resolv.conf && echo created; fi")
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) == "created" {
		r.Changed = append(r.Changed, "created an empty /etc/resolv.conf (the kubelet needs one)")
	}
	return nil
}

// swapOff turns swap off now and comments it out of fstab.
func swapOff(ctx context.Context, n remote.Node, p nodeprep.Plan, r *Result) error {
	if !p.SwapOff {
		return nil
	}
	out, err := n.Run(ctx, "swapon --show --noheadings")
	if err != nil {
		return err
	}
	if strings.TrimSpace(out) != "" {
		if _, err := n.Run(ctx, "swapoff -a"); err != nil {
			return err
		}
		r.Changed = append(r.Changed, "swap off")
	}
	fstab, err := n.Run(ctx, "cat /etc/fstab")
	if err != nil {
		return err
	}
	fixed, changed := commentSwap([]byte(fstab))
	if !changed {
		return nil
	}
	if err := n.Upload(ctx, "/etc/fstab", fixed, 0o644); err != nil {
		return err
	}
	r.Changed = append(r.Changed, "swap commented out of /etc/fstab")
	return nil
}

// commentSwap comments out every active swap line of an fstab.
func commentSwap(fstab []byte) ([]byte, bool) {
	lines := bytes.Split(fstab, []byte("\n"))
	changed := false
	for i, l := range lines {
		f := strings.Fields(string(l))
		if len(f) >= 3 && !strings.HasPrefix(f[0], "#") && f[2] == "swap" {
			lines[i] = append([]byte("# disabled by kprov (kubelet needs swap off): "), l...)
			changed = true
		}
	}
	return bytes.Join(lines, []byte("\n")), changed
}

// Containerd ensures containerd's configuration for c on h, as Node's last
// step does. `up`'s images phase runs it again with the cluster's whole
// image list (addon manifests read), so that a mirror_all also covers the
// registry hosts of the addons' images; on a prepared node it changes
// nothing.
func Containerd(ctx context.Context, n remote.Node, c *spec.Cluster, o Options) (Result, error) {
	r := Result{Node: n.Name()}
	files, err := containerdFiles(c, o)
	if err != nil {
		return r, err
	}
	return r, containerd(ctx, n, files, &r)
}
