package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/bootstrap/nodeprep"
	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
	"github.com/kprov/kprov/provision/virt"
	"github.com/spf13/cobra"
)

func newPlan(env Env) *cobra.Command {
	var f buildFlags
	var output string
	var offline, detailed bool
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Show what kprov up would do on the spec's host, grouped by node",
		Long: "plan reads the spec's libvirt host and shows every object up would add (+), change (~,\n" +
			"with what differs), leave alone (=) or that the spec no longer plans (-), grouped by\n" +
			"node, then \"N to add, M to change, K to remove\". It changes nothing. When libvirt\n" +
			"cannot be reached (or with --offline, or --libvirt-version naming another host) it\n" +
			"says so and shows the whole plan as new. Node preparation, kubeadm and the addons are\n" +
			"checked by up over SSH; `kprov render` writes every artifact to files.\n\n" +
			"With --detailed-exitcode the exit code is 0 when there is nothing to do, 2 when there\n" +
			"are changes, 1 on errors.",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output %q: use text or json", output)}
			}
			cl, err := f.prepare(env, args[0], false)
			if err != nil {
				return err
			}
			defer cl.cleanup()
			c := cl.spec.Cluster
			h, err := f.host(c)
			if err != nil {
				return err
			}
			r := planResult{Cluster: c.Name, URI: virt.ResolveURI(c.Hypervisor.URI, env.Lookup("LIBVIRT_DEFAULT_URI"))}
			if offline || cmd.Flags().Changed("libvirt-version") {
				r.Libvirt = "not consulted (--offline or --libvirt-version)"
			} else {
				live, err := livePlan(cmd.Context(), env, cl, &h)
				var ue *virt.UnreachableError
				switch {
				case errors.As(err, &ue):
					r.Libvirt = "unreachable: " + err.Error()
					fmt.Fprintf(env.Stderr, "kprov: %v\n  showing the whole plan as new\n", err)
				case err != nil:
					return err
				default:
					r.Reached, r.Changes = true, live
					r.Libvirt = fmt.Sprintf("libvirt %d.%d.%d, read at %s", h.LibvirtVersion/1_000_000, h.LibvirtVersion/1000%1000, h.LibvirtVersion%1000, time.Now().UTC().Format(time.RFC3339))
				}
			}
			set, err := artifacts.Build(c, cl.nodes, h, cl.secrets)
			if err != nil {
				return err
			}
			if !r.Reached {
				r.Changes = allNew(c, set.Nodes)
			} else {
				ups, err := upgrades(c, set.Nodes, cl.dir, r.Changes)
				if err != nil {
					return err
				}
				r.Changes = append(r.Changes, ups...)
			}
			r.Summary = virt.Summary(r.Changes)
			if output == "json" {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				err = enc.Encode(r)
			} else {
				err = printPlan(env.Stdout, c, set, &r)
			}
			if err == nil && detailed && r.Summary[virt.Add]+r.Summary[virt.Modify]+r.Summary[virt.Remove]+r.Summary[virt.Upgrade] > 0 {
				return exitError{2}
			}
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	cmd.Flags().BoolVar(&offline, "offline", false, "do not read the libvirt host: show the whole plan as new")
	cmd.Flags().BoolVar(&detailed, "detailed-exitcode", false, "exit 0 when there is nothing to do, 2 when there are changes")
	return cmd
}

// planResult is plan's output, as JSON with -o json.
type planResult struct {
	Cluster string         `json:"cluster"`
	URI     string         `json:"uri"`
	Reached bool           `json:"reached"`
	Libvirt string         `json:"libvirt"`
	Changes []virt.Change  `json:"changes"`
	Summary map[string]int `json:"summary"`
}

// livePlan reads the host and compares it with the plan; h becomes the
// live host.
func livePlan(ctx context.Context, env Env, cl *cluster, h *plan.Host) ([]virt.Change, error) {
	c := cl.spec.Cluster
	conn, err := connect(ctx, env, c.Hypervisor.URI)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	host, _, err := conn.Host(c.Hypervisor.Accelerator)
	if err != nil {
		return nil, err
	}
	*h = host
	seeds, err := artifacts.NodeSeeds(c, cl.nodes, cl.secrets)
	if err != nil {
		return nil, err
	}
	p := &virt.Provisioner{Conn: conn, Cluster: c, Nodes: cl.nodes, Host: host, Hashes: artifacts.Hashes(c, cl.nodes),
		Legacy: artifacts.LegacyHashes(c, cl.nodes), Seeds: seeds.ISO}
	return p.Compare(ctx)
}

// allNew is the plan as new objects, for a host kprov did not read.
func allNew(c *spec.Cluster, nodes []plan.Node) []virt.Change {
	name := plan.ResourceName(c.Name)
	out := []virt.Change{
		{Action: virt.Add, Kind: "network", Name: name},
		{Action: virt.Add, Kind: "pool", Name: name},
		{Action: virt.Add, Kind: "volume", Name: plan.BaseVolumeName(c)},
	}
	for _, n := range nodes {
		out = append(out,
			virt.Change{Action: virt.Add, Kind: "volume", Name: plan.OverlayVolumeName(n), Node: n.Name},
			virt.Change{Action: virt.Add, Kind: "volume", Name: plan.SeedVolumeName(n), Node: n.Name},
			virt.Change{Action: virt.Add, Kind: "domain", Name: n.Domain, Node: n.Name})
	}
	return out
}

func printPlan(w io.Writer, c *spec.Cluster, set *artifacts.Set, r *planResult) error {
	byName := map[string]virt.Change{}
	for _, ch := range r.Changes {
		byName[ch.Kind+"/"+ch.Name] = ch
	}
	h := set.Host
	p := &printer{w: w}
	// obj prints one object line with its action's sign and, below, what
	// differs.
	obj := func(kind, name, format string, args ...any) {
		ch := byName[kind+"/"+name]
		sign := map[string]string{virt.Add: "+", virt.Modify: "~", virt.Unchanged: "=", virt.Remove: "-"}[ch.Action]
		p.line("  %s %-7s %s: "+format, append([]any{sign, kind, name}, args...)...)
		for _, d := range ch.Details {
			p.line("        %s", d)
		}
	}
	p.line("cluster %q: Kubernetes %s (kubeadm %s), %s, on %s", c.Name, c.KubernetesVersion, set.APIVersion, plural(len(set.Nodes), "node"), r.URI)
	p.line("  libvirt: %s", r.Libvirt)
	accel := h.DomainType
	if c.Hypervisor.Accelerator == "auto" && !r.Reached {
		accel += " (accelerator auto: kvm planned; up falls back to qemu/TCG when KVM is unusable)"
	}
	p.line("  host: libvirt %d.%d.%d, domain type %s", h.LibvirtVersion/1_000_000, h.LibvirtVersion/1000%1000, h.LibvirtVersion%1000, accel)
	n := c.Network
	name := plan.ResourceName(c.Name)
	obj("network", name, "%s %s, gateway %s, MTU %d", n.Mode, n.NodeCIDR, n.Gateway, n.MTU)
	obj("pool", name, "%s", c.Hypervisor.StoragePool)
	obj("volume", plan.BaseVolumeName(c), "base image from %s", c.Image.Source)
	p.line("  api: %s", apiLine(c, set.Nodes))
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
		obj("volume", plan.OverlayVolumeName(node), "%d GiB qcow2 overlay on %s", node.DiskGiB, plan.BaseVolumeName(c))
		obj("volume", plan.SeedVolumeName(node), "cloud-init seed (hostname, eth0 %s/MTU %d, SSH keys)", node.IP, n.MTU)
		obj("domain", node.Domain, "%d vCPU, %d MiB, boot disk %s", node.VCPU, node.MemoryMiB, disk)
		if up, ok := byName["node/"+node.Name]; ok {
			p.line("  ^ upgrade %s", strings.Join(up.Details, "; "))
		}
		if byName["domain/"+node.Domain].Action != virt.Add {
			p.line("  = prepare, kubeadm: the node exists; up checks each step over SSH and redoes only what is missing")
			continue
		}
		p.line("  + prepare: modules %s; sysctls; swap off", strings.Join(prep.Modules, " "))
		if node.Name == first.Name {
			p.line("  + kubeadm init")
		} else if node.Role == spec.RoleControlPlane {
			p.line("  + kubeadm join --control-plane")
		} else {
			p.line("  + kubeadm join")
		}
	}
	var gone []virt.Change
	for _, ch := range r.Changes {
		if ch.Action == virt.Remove {
			gone = append(gone, ch)
		}
	}
	for _, ch := range gone {
		p.line("")
		p.line("node %s (not in the spec)", ch.Node)
		obj(ch.Kind, ch.Name, "tagged for cluster %q", c.Name)
	}
	s := r.Summary
	p.line("")
	ups := ""
	if s[virt.Upgrade] > 0 {
		ups = fmt.Sprintf(", %d to upgrade", s[virt.Upgrade])
	}
	if s[virt.Add]+s[virt.Modify]+s[virt.Remove]+s[virt.Upgrade] == 0 {
		p.line("No changes: the host holds every planned object (%d unchanged).", s[virt.Unchanged])
	} else {
		p.line("Plan: %d to add, %d to change%s, %d to remove (%d unchanged).", s[virt.Add], s[virt.Modify], ups, s[virt.Remove], s[virt.Unchanged])
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

// upgrades are the planned nodes that exist and whose kubelet, as up last
// recorded it (the state folder's versions.json), is not the spec's
// version: up upgrades them in place. A jump kubeadm cannot make is shown
// as refused.
func upgrades(c *spec.Cluster, nodes []plan.Node, dir string, changes []virt.Change) ([]virt.Change, error) {
	v, err := state.ReadVersions(dir)
	if err != nil {
		return nil, err
	}
	exists := map[string]bool{}
	for _, ch := range changes {
		if ch.Kind == "domain" && ch.Action != virt.Add {
			exists[ch.Node] = true
		}
	}
	want := c.Kubernetes().String()
	first, _ := plan.FirstControlPlane(nodes)
	var out []virt.Change
	for _, n := range nodes {
		have := v.Nodes[n.Name]
		if !exists[n.Name] || have == "" || have == want {
			continue
		}
		from := have
		if v.Cluster != "" {
			from = v.Cluster
		}
		how := "kubeadm upgrade node, then drained, kubelet and kubectl " + want + ", uncordoned"
		if n.Name == first.Name {
			how = "kubeadm upgrade apply " + want + " (control plane, etcd, CoreDNS, kube-proxy), then drained, kubelet and kubectl " + want + ", uncordoned"
		}
		u, err := kubeadm.PlanUpgrade(from, want)
		if err != nil {
			how = "refused: " + err.Error()
		}
		out = append(out, virt.Change{Action: virt.Upgrade, Kind: "node", Name: n.Name, Node: n.Name,
			Details: []string{fmt.Sprintf("kubelet %s -> %s (%s): %s", have, want, u.Kind(), how)}})
	}
	return out, nil
}

// apiLine says where the API server is reached and what holds that address.
func apiLine(c *spec.Cluster, nodes []plan.Node) string {
	endpoint, err := kubeadm.Endpoint(kubeadm.Input{Cluster: c, Nodes: nodes})
	switch _, vip := c.APIVIP(); {
	case err != nil:
		return err.Error()
	case vip:
		_, tag, _ := strings.Cut(images.KubeVIP, ":")
		return fmt.Sprintf("https://%s, a virtual address the control planes hold with kube-vip %s (ARP, leader election on kube-system/%s)", endpoint, tag, kubeadm.VIPLeaseName)
	case c.Network.APIEndpoint != "":
		return fmt.Sprintf("https://%s (network.api_endpoint)", endpoint)
	default:
		first, _ := plan.FirstControlPlane(nodes)
		return fmt.Sprintf("https://%s, %s's own address", endpoint, first.Name)
	}
}
