package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/kprov/kprov/bootstrap/nodeprep"
	"github.com/kprov/kprov/provision/artifacts"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/spf13/cobra"
)

func newPlan(env Env) *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Show what kprov would create, grouped by node",
		Long: "plan prints every libvirt object, seed and kubeadm step the spec asks for, grouped by\n" +
			"node, without touching any host. `kprov render` writes the same artifacts to files.",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, set, err := f.build(env, args[0], false)
			if err != nil {
				return err
			}
			return printPlan(env.Stdout, s.Cluster, set)
		},
	}
	f.register(cmd)
	return cmd
}

func printPlan(w io.Writer, c *spec.Cluster, set *artifacts.Set) error {
	h := set.Host
	p := &printer{w: w}
	p.line("cluster %q: Kubernetes %s (kubeadm %s), %s, on %s", c.Name, c.KubernetesVersion, set.APIVersion, plural(len(set.Nodes), "node"), c.Hypervisor.URI)
	accel := h.DomainType
	if c.Hypervisor.Accelerator == "auto" {
		accel += " (accelerator auto: kvm planned; up falls back to qemu/TCG when KVM is unusable)"
	}
	p.line("  host: libvirt %d.%d.%d, domain type %s", h.LibvirtVersion/1_000_000, h.LibvirtVersion/1000%1000, h.LibvirtVersion%1000, accel)
	n := c.Network
	p.line("  + network %s: %s %s, gateway %s, MTU %d", plan.ResourceName(c.Name), n.Mode, n.NodeCIDR, n.Gateway, n.MTU)
	p.line("  + pool    %s: %s", plan.ResourceName(c.Name), c.Hypervisor.StoragePool)
	p.line("  + volume  %s: base image from %s", plan.BaseVolumeName(c), c.Image.Source)
	p.line("  addons: Calico %s (%s, pod MTU %d, %s), kube-proxy %s%s", c.Calico.Version, encapName(c.Calico.Encapsulation),
		c.Calico.PodMTU, c.Calico.IPAutodetectionMethod, c.KubeProxy.Mode, schedName(c.KubeProxy))
	if in := c.Ingress; in != nil {
		p.line("  ingress: Service %s/%s type LoadBalancer, externalTrafficPolicy %s, addresses %s", in.Namespace, in.ServiceName,
			in.ExternalTrafficPolicy, strings.Join(in.Addresses, ", "))
	}
	if np := c.NetworkPolicy; np != nil {
		p.line("  policies: default-deny in %s%s", strings.Join(np.DefaultDenyNamespaces, ", "), map[bool]string{true: "; global default-deny", false: ""}[np.GlobalDefaultDeny])
	}
	prep, err := nodeprep.For(c, nodeprep.ModernKernel)
	if err != nil {
		return err
	}
	first, _ := plan.FirstControlPlane(set.Nodes)
	for _, node := range set.Nodes {
		disk, err := plan.BootDiskOf(h, node)
		if err != nil {
			return err
		}
		p.line("")
		p.line("node %s (%s, pool %s): %s, MAC %s", node.Name, node.Role, node.Pool, node.IP, node.MAC)
		p.line("  + volume  %s: %d GiB qcow2 overlay on %s", plan.OverlayVolumeName(node), node.DiskGiB, plan.BaseVolumeName(c))
		p.line("  + volume  %s: cloud-init seed (hostname, eth0 %s/MTU %d, SSH keys)", plan.SeedVolumeName(node), node.IP, n.MTU)
		p.line("  + domain  %s: %d vCPU, %d MiB, boot disk %s", node.Domain, node.VCPU, node.MemoryMiB, disk)
		p.line("  + prepare: modules %s; sysctls; swap off", strings.Join(prep.Modules, " "))
		if node.Name == first.Name {
			p.line("  + kubeadm init")
		} else if node.Role == spec.RoleControlPlane {
			p.line("  + kubeadm join --control-plane")
		} else {
			p.line("  + kubeadm join")
		}
	}
	return p.err
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) line(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
	}
}

func encapName(e string) string {
	if e == "none" {
		return "pure BGP, no encapsulation"
	}
	return e + " encapsulation"
}

func schedName(k *spec.KubeProxy) string {
	if k.Mode == "ipvs" {
		return " (scheduler " + k.IPVSScheduler + ")"
	}
	return ""
}
