package cli

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/kprov/kprov/bootstrap/phases"
	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/internal/phase"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
	"github.com/kprov/kprov/provision/virt"
)

func newUp(env Env) *cobra.Command {
	var f stateFlags
	var replace bool
	var parallel int
	var sel phase.Selection
	var locked, keepNodes bool
	cmd := &cobra.Command{
		Use:   "up FILE",
		Short: "Create the cluster: nodes, kubeadm, then Calico, ingress and policies",
		Long: "up makes every planned node exist on the spec's libvirt host (network, pool, base\n" +
			"image, NVMe-backed qcow2 overlays, cloud-init seeds, domains) and waits until each\n" +
			"answers SSH with the host key kprov gave it; prepares the nodes and runs kubeadm;\n" +
			"then applies Calico, the load balancer, the ingress and the default-deny policies\n" +
			"through the API server, tunnelled over SSH. Every step looks before it acts: on a\n" +
			"converged cluster up changes nothing. A node whose definition drifted from the spec\n" +
			"is reported, and recreated only with --replace. A node the spec no longer plans (a\n" +
			"lower count, a removed pool) is drained, deleted from the cluster (a control plane's\n" +
			"etcd member removed, never below a healthy majority), then its VM, disk and DHCP\n" +
			"host removed, unless --keep-nodes. A higher kubernetes_version upgrades the running\n" +
			"cluster in place (kubeadm/upgrade: upgrade apply, then each node drained, its kubelet\n" +
			"and kubectl replaced and uncordoned), one minor version at a time. --only/--skip pick phases; libvirt\n" +
			"is only contacted when a provision phase runs.",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := f.prepare(env, args[0], true)
			if err != nil {
				return err
			}
			defer cl.cleanup()
			release, err := lockState(env, cmd, args, cl.dir)
			if err != nil {
				return err
			}
			defer release()
			return up(cmd.Context(), env, cl, args[0], upOptions{replace: replace, locked: locked, keepNodes: keepNodes, parallel: parallel, sel: sel})
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&replace, "replace", false, "recreate nodes whose definition drifted from the spec")
	cmd.Flags().IntVar(&parallel, "parallel", 4, "how many nodes to work on at once")
	cmd.Flags().BoolVar(&keepNodes, "keep-nodes", false, "leave running the nodes the spec no longer plans (up removes them otherwise)")
	cmd.Flags().BoolVar(&locked, "locked", false, "refuse any image or binary whose sha256 is not the one kprov.lock.hcl pins (reproducible staging builds)")
	registerSelection(cmd, &sel)
	phaseCompletion := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return phaseNames(), cobra.ShellCompDirectiveNoFileComp
	}
	cmd.RegisterFlagCompletionFunc("only", phaseCompletion)
	cmd.RegisterFlagCompletionFunc("skip", phaseCompletion)
	return cmd
}

// upOptions are up's flags.
type upOptions struct {
	replace, locked, keepNodes bool
	parallel                   int
	sel                        phase.Selection
}

func up(ctx context.Context, env Env, cl *cluster, specPath string, o upOptions) error {
	c := cl.spec.Cluster
	hv := &hypervisor{env: env, cl: cl, specPath: specPath, replace: o.replace, parallel: o.parallel, keepNodes: o.keepNodes}
	hv.session = virt.Session{Open: hv.open, Closed: hv.closed,
		Log: func(format string, args ...any) { fmt.Fprintf(env.Stderr, "  "+format+"\n", args...) }}
	defer hv.close()
	b, err := newBootstrapper(env, cl, specPath, o.parallel, o.locked, func() string {
		if p := hv.session.Provisioner(); p != nil {
			return p.ImageSHA256
		}
		return hv.imageSum
	})
	if err != nil {
		return err
	}
	defer b.Close()
	list, err := o.sel.Apply(upPhases(hv, b, cl))
	if err != nil {
		return usageError{err}
	}
	if err := phase.Run(ctx, env.Stderr, list); err != nil {
		return err
	}
	kh, err := state.WriteKnownHosts(cl.dir, cl.nodes, cl.secrets)
	if err != nil {
		return err
	}
	// Every phase's changes: libvirt's calls and what the bootstrap phases
	// changed on the nodes and in the cluster.
	made := int64(b.Changes())
	made += hv.session.Mutations()
	fmt.Fprintf(env.Stderr, "%s up, %d changes made\n", plural(len(cl.nodes), "node"), made)
	fmt.Fprintf(env.Stderr, "ssh in: ssh -i %s -o UserKnownHostsFile=%s %s@<address from kprov status>\n",
		filepath.Join(cl.dir, state.SSHKeyFile), kh, c.SSH.User)
	if _, err := os.Stat(filepath.Join(cl.dir, state.KubeconfigFile)); err == nil {
		fmt.Fprintf(env.Stderr, "kubectl: kprov kubeconfig %s > kubeconfig && kubectl --kubeconfig kubeconfig get nodes\n", specPath)
	}
	if in := c.Ingress; in != nil && len(in.Addresses) > 0 {
		fmt.Fprintf(env.Stderr, "ingress: http://%s/ answers through %s (Ingress objects of class %s)\n", in.Addresses[0], in.Controller, ingressClass(in))
	}
	return nil
}

// upPhases is everything `up` does, in order: the one literal phase list.
func upPhases(hv *hypervisor, b *phases.Bootstrapper, cl *cluster) []phase.Phase {
	prov := hv.phase
	list := []phase.Phase{
		{Name: "provision/download", Run: hv.download},
		{Name: "provision/network", Run: prov((*virt.Provisioner).EnsureNetwork)},
		{Name: "provision/pool", Run: prov((*virt.Provisioner).EnsurePool)},
		{Name: "provision/image", Run: prov((*virt.Provisioner).EnsureImage)},
		{Name: "provision/drift", Run: prov(func(p *virt.Provisioner, ctx context.Context) error { _, err := p.CheckDrift(ctx); return err })},
		{Name: "provision/disks", Run: prov((*virt.Provisioner).EnsureDisks)},
		{Name: "provision/seeds", Run: prov((*virt.Provisioner).EnsureSeeds)},
		{Name: "provision/domains", Run: prov((*virt.Provisioner).EnsureDomains)},
		{Name: "provision/start", Run: prov((*virt.Provisioner).Start)},
		{Name: "provision/ssh", Run: prov(func(_ *virt.Provisioner, ctx context.Context) error { return hv.w.Wait(ctx, cl.nodes) })},
	}
	list = append(list, b.Phases()...)
	list = append(list, b.AddonPhases()...)
	list = append(list, phase.Phase{Name: "nodes/remove", Run: prov(func(p *virt.Provisioner, ctx context.Context) error { return hv.removeLeaving(ctx, p, b) })})
	return list
}

// phaseNames lists up's phases, for --only and --skip completion.
func phaseNames() []string {
	return phase.Names(upPhases(&hypervisor{}, &phases.Bootstrapper{}, &cluster{}))
}

// ingressClass is the IngressClass kprov's ingress serves.
func ingressClass(in *spec.Ingress) string {
	if in.Controller == spec.ControllerTraefik {
		return "traefik"
	}
	return "of its manifest"
}

// hypervisor opens the libvirt connection when the first provision phase
// runs: `up --only addons` on a running cluster needs no libvirt.
type hypervisor struct {
	env      Env
	cl       *cluster
	specPath string // relative image paths start at its folder
	replace  bool
	parallel int

	session  virt.Session
	w        *virt.Waiter
	imageSum string // the image's sha256, kept across reconnections
	// imagePath is the base image as a local file, once known.
	imagePath string
	// keepNodes leaves the nodes the spec no longer plans running.
	keepNodes bool
}

// phase runs f in the libvirt session (virt.Session: it dials on first
// use, and again when libvirtd went away under a phase).
func (h *hypervisor) phase(f func(*virt.Provisioner, context.Context) error) func(context.Context) error {
	return h.session.Phase(func(ctx context.Context, p *virt.Provisioner) error { return f(p, ctx) })
}

// closed keeps what outlives a connection.
func (h *hypervisor) closed(p *virt.Provisioner) {
	h.imageSum = p.ImageSHA256
	h.w = nil
}

func (h *hypervisor) close() { h.session.Close() }

// open dials the spec's hypervisor and builds the provisioner of the
// plan render writes for it.
func (h *hypervisor) open(ctx context.Context) (_ *virt.Provisioner, err error) {
	env, cl, c := h.env, h.cl, h.cl.spec.Cluster
	conn, err := connect(ctx, env, c.Hypervisor.URI)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	host, why, err := conn.Host(c.Hypervisor.Accelerator)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(env.Stderr, "%s: libvirt %d.%d.%d, domains of type %s\n", conn.URI,
		host.LibvirtVersion/1_000_000, host.LibvirtVersion/1000%1000, host.LibvirtVersion%1000, why)
	if err := h.download(ctx); err != nil {
		return nil, err
	}
	p := &virt.Provisioner{
		Conn: conn, Cluster: c, Nodes: cl.nodes, Host: host, Image: virt.FileImage(h.imagePath),
		Replace: h.replace, Parallel: h.parallel,
		Log: func(format string, args ...any) { fmt.Fprintf(env.Stderr, "  "+format+"\n", args...) },
	}
	if !local(conn.URI) {
		// An upload to another host takes minutes: show it.
		p.Progress, p.Terminal = env.Stderr, terminal(env.Stderr)
	}
	// The plan render writes for this host is what up defines and uploads.
	set, err := artifacts.Build(c, cl.nodes, host, cl.secrets)
	if err != nil {
		return nil, err
	}
	p.Hashes, p.Legacy, p.Defs, p.Seeds = artifacts.Hashes(c, cl.nodes), artifacts.LegacyHashes(c, cl.nodes), set.Defs, set.Seeds.ISO
	w := &virt.Waiter{Secrets: cl.secrets, User: c.SSH.User, Host: host, Timeout: c.BootTimeout(), Log: p.Log}
	if local(conn.URI) {
		w.ConsoleTail = func(n plan.Node) string { return virt.FileTail(plan.ConsoleLog(host, n), 25) }
	}
	h.w = w
	return p, nil
}

// connect dials the spec's hypervisor (LIBVIRT_DEFAULT_URI overrides the
// default qemu:///system, as with virsh).
func connect(ctx context.Context, env Env, specURI string) (*virt.Conn, error) {
	uri := virt.ResolveURI(specURI, env.Lookup("LIBVIRT_DEFAULT_URI"))
	opts := virt.DialOptions{}
	if !local(uri) {
		opts.Auth = userAuth(env)
	}
	fmt.Fprintf(env.Stderr, "connecting to libvirt at %s\n", uri)
	return virt.Dial(ctx, uri, opts)
}

// userAuth is how the user logs in to a remote hypervisor: the SSH agent,
// then unencrypted default keys in ~/.ssh.
func userAuth(env Env) []ssh.AuthMethod {
	var auth []ssh.AuthMethod
	if sock := env.Lookup("SSH_AUTH_SOCK"); sock != "" {
		if c, err := net.Dial("unix", sock); err == nil {
			auth = append(auth, ssh.PublicKeysCallback(agent.NewClient(c).Signers))
		}
	}
	home, _ := os.UserHomeDir()
	var signers []ssh.Signer
	for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
		if b, err := os.ReadFile(filepath.Join(home, ".ssh", name)); err == nil {
			if s, err := ssh.ParsePrivateKey(b); err == nil {
				signers = append(signers, s)
			}
		}
	}
	if len(signers) > 0 {
		auth = append(auth, ssh.PublicKeys(signers...))
	}
	return auth
}

// local reports whether a libvirt URI names this machine.
func local(uri string) bool {
	u, err := url.Parse(uri)
	return err == nil && !strings.Contains(u.Scheme, "+") && u.Host == ""
}

// plural is "1 node", "2 nodes".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// newBootstrapper opens SSH to cl's nodes for the bootstrap and addon
// phases (imageSum may be nil).
func newBootstrapper(env Env, cl *cluster, specPath string, parallel int, locked bool, imageSum func() string) (*phases.Bootstrapper, error) {
	return phases.New(phases.Options{
		Out: env.Stderr, Echo: env.Verbose(), AgentSocket: env.Lookup("SSH_AUTH_SOCK"),
		StateDir: cl.dir, SpecPath: specPath, Cluster: cl.spec.Cluster, Nodes: cl.nodes, Secrets: cl.secrets,
		Parallel: parallel, Locked: locked, ImageSum: imageSum,
	})
}
