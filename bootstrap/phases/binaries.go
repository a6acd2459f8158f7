package phases

import (
	"context"
	"io/fs"
	"net/url"
	"path"
	"strings"

	"github.com/kprov/kprov/bootstrap/binaries"
	"github.com/kprov/kprov/bootstrap/kubeadmrun"
	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/bootstrap/nodepreprun"
	"github.com/kprov/kprov/bootstrap/remote"
)

// binaries pins the binaries (installCommands), then installs them, the
// kubelet's units and /etc/crictl.yaml on every node, each binary checked
// against its pin before it is used. A node that joined the cluster with
// another kubelet gets the new kubeadm only: kubeadm/upgrade replaces its
// kubelet and kubectl once it has drained it.
func (b *Bootstrapper) binaries(ctx context.Context) error {
	cmds, err := b.installCommands(ctx)
	if err != nil {
		return err
	}
	units, err := binaries.Units()
	if err != nil {
		return err
	}
	crictl, err := binaries.CrictlFile()
	if err != nil {
		return err
	}
	c := b.o.Cluster
	return remote.Each(ctx, b.all, b.o.Parallel, func(ctx context.Context, n *remote.Conn) error {
		srcs := binaries.Sources(c)
		held, err := kubeletHeld(ctx, n, c.Kubernetes().String())
		if err != nil {
			return err
		}
		if held != "" {
			b.logf("%s: kubelet and kubectl stay at %s until kubeadm/upgrade has drained the node", n.Name(), held)
		}
		for i, cmd := range cmds {
			if held != "" && i < len(srcs) && upgradedLater(srcs[i].Name) {
				continue
			}
			out, err := n.Run(ctx, cmd)
			if err != nil && i < len(srcs) {
				return nodepreprun.Unreachable(err, "the binaries source "+hostOf(srcs[i].URL), nodepreprun.BinariesHint)
			}
			if err != nil {
				return err
			}
			if strings.Contains(out, "installed") {
				b.changed(1, "%s: %s", n.Name(), strings.TrimSpace(out))
			}
		}
		changed := false
		for _, u := range units {
			wrote, err := ensureFile(ctx, n, u)
			if err != nil {
				return err
			}
			changed = changed || wrote
		}
		enabled, err := n.Run(ctx, "systemctl is-enabled kubelet.service 2>/dev/null || true")
		if err != nil {
			return err
		}
		if changed || strings.TrimSpace(enabled) != "enabled" {
			if _, err := n.Run(ctx, binaries.EnableKubelet); err != nil {
				return err
			}
			b.changed(1, "%s: kubelet unit installed and enabled", n.Name())
		}
		if wrote, err := ensureFile(ctx, n, crictl); err != nil {
			return err
		} else if wrote {
			b.changed(1, "%s: wrote %s", n.Name(), crictl.Path)
		}
		return nil
	})
}

// ensureFile writes f on n unless n already has it with that content; it
// reports whether it wrote.
func ensureFile(ctx context.Context, n *remote.Conn, f binaries.File) (bool, error) {
	have, err := n.Run(ctx, "cat "+remote.Quote(f.Path)+" 2>/dev/null || true")
	if err != nil {
		return false, err
	}
	if have == string(f.Content) {
		return false, nil
	}
	if _, err := n.Run(ctx, "mkdir -p "+remote.Quote(path.Dir(f.Path))); err != nil {
		return false, err
	}
	if err := n.Upload(ctx, f.Path, f.Content, fs.FileMode(f.Mode)); err != nil {
		return false, err
	}
	return true, nil
}

// hostOf is a URL's host, for messages.
func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

// installCommands pins the sha256 of the image, of kubeadm, kubelet and
// kubectl and of the crictl tarball in kprov.lock.hcl (or, with --locked,
// refuses any change), and returns the install command of each binary, in
// binaries.Sources' order; made once per run.
func (b *Bootstrapper) installCommands(ctx context.Context) ([]string, error) {
	b.mu.Lock()
	have := b.installs
	b.mu.Unlock()
	if have != nil {
		return have, nil
	}
	c := b.o.Cluster
	lockPath := lockfile.Path(b.o.SpecPath)
	lock, err := lockfile.Load(lockPath)
	if err != nil {
		return nil, err
	}
	pins := binaries.Expect(binaries.Pins(c), lock)
	if sum := b.imageSum(); sum != "" {
		for i := range pins {
			if pins[i].Name == "image" && pins[i].SHA256 == "" {
				pins[i].SHA256, pins[i].Origin = sum, binaries.FromContent
			}
		}
	}
	if pins, err = binaries.Resolve(ctx, binaries.HTTPFetcher{}, pins); err != nil {
		return nil, err
	}
	// Manifests are pinned when the addons read them; the rest now.
	var known []binaries.Pin
	for _, p := range pins {
		if p.SHA256 != "" {
			known = append(known, p)
		}
	}
	mode := binaries.Record
	if b.o.Locked {
		mode = binaries.Locked
	}
	drift, err := binaries.Sync(lockPath, known, mode)
	if err != nil {
		return nil, err
	}
	for _, d := range drift {
		b.changed(1, "%s: %s", lockPath, d)
	}
	cmds, err := binaries.Commands(c, pins)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.installs = cmds
	b.mu.Unlock()
	return cmds, nil
}

// upgradedLater names the binaries an upgrade replaces only once the node
// is drained, as kubeadm's upgrade documentation orders it.
func upgradedLater(name string) bool { return name == "kubelet" || name == "kubectl" }

// kubeletHeld is the version of the kubelet of a node that joined the
// cluster (kubelet.conf) when it is not version: kubelet and kubectl are
// then left for kubeadm/upgrade. "" for a node not joined, or current.
func kubeletHeld(ctx context.Context, n *remote.Conn, version string) (string, error) {
	out, err := n.Run(ctx, "if [ -f "+kubeadmrun.KubeletConf+" ] && [ -x "+binaries.BinDir+"/kubelet ]; then timeout 120 "+binaries.BinDir+"/kubelet --version; fi")
	if err != nil {
		return "", err
	}
	have := strings.TrimPrefix(strings.TrimSpace(out), "Kubernetes ")
	if have == "" || have == version {
		return "", nil
	}
	return have, nil
}
