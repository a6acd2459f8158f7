package cli

import (
	"context"
	"fmt"

	"github.com/kprov/kprov/bootstrap/phases"
	"github.com/kprov/kprov/provision/virt"
)

// removeLeaving scales down: the nodes the spec no longer plans are taken
// out of the cluster (drained, deleted), then their VMs, disks and DHCP
// hosts are removed, unless --keep-nodes.
func (h *hypervisor) removeLeaving(ctx context.Context, p *virt.Provisioner, b *phases.Bootstrapper) error {
	leaving, err := p.Leaving(ctx)
	if err != nil || len(leaving) == 0 {
		return err
	}
	if h.keepNodes {
		for _, lv := range leaving {
			fmt.Fprintf(h.env.Stderr, "  %s: not in the spec; kept (--keep-nodes)\n", lv.Node)
		}
		return nil
	}
	var out []phases.Leaver
	for _, lv := range leaving {
		out = append(out, phases.Leaver{Name: lv.Node, Role: lv.Role, IP: lv.IP})
	}
	if err := b.Leave(ctx, out); err != nil {
		return err
	}
	for _, lv := range leaving {
		if err := p.RemoveLeaving(ctx, lv); err != nil {
			return err
		}
	}
	return nil
}
