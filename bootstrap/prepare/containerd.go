package prepare

import (
	"context"
	"strings"

	"github.com/kprov/kprov/bootstrap/nodeprep"
	"github.com/kprov/kprov/bootstrap/remote"
)

// ContainerdConfig is containerd's configuration file.
const ContainerdConfig = "/etc/containerd/config.toml"

// containerd configures containerd's runc runtime for the systemd cgroup
// driver (what kubeadm configures the kubelet with) and keeps it running.
func containerd(ctx context.Context, h remote.Host, _ nodeprep.Plan, r *Result) error {
	have, err := h.Run(ctx, "cat "+ContainerdConfig+" 2>/dev/null || true")
	if err != nil {
		return err
	}
	if !strings.Contains(have, "SystemdCgroup = true") {
		def, err := h.Run(ctx, "containerd config default")
		if err != nil {
			return err
		}
		conf, ok := systemdCgroup(def)
		if !ok {
			return &remote.RunError{Node: h.Name(), Command: "containerd config default", Output: "no SystemdCgroup setting for the runc runtime in containerd's default configuration"}
		}
		if err := h.Upload(ctx, ContainerdConfig, []byte(conf), 0o644); err != nil {
			return err
		}
		if _, err := h.Run(ctx, "systemctl restart containerd"); err != nil {
			return err
		}
		r.Changed = append(r.Changed, "containerd: systemd cgroup driver")
	}
	state, err := h.Run(ctx, "systemctl is-enabled containerd; systemctl is-active containerd; true")
	if err != nil {
		return err
	}
	if strings.Contains(state, "disabled") || strings.Contains(state, "inactive") || strings.Contains(state, "failed") {
		if _, err := h.Run(ctx, "systemctl enable --now containerd"); err != nil {
			return err
		}
		r.Changed = append(r.Changed, "containerd enabled and started")
	}
	return nil
}

// systemdCgroup turns containerd's default configuration into one whose
// runc runtime uses the systemd cgroup driver.
func systemdCgroup(def string) (string, bool) {
	if !strings.Contains(def, "SystemdCgroup = false") {
		return def, false
	}
	return strings.Replace(def, "SystemdCgroup = false", "SystemdCgroup = true", 1), true
}
