package nodepreprun_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/bootstrap/kubeadmrun"
	"github.com/kprov/kprov/bootstrap/nodepreprun"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/internal/labtest"
)

// TestMain runs these tests in a lab namespace of their own (labtest).
func TestMain(m *testing.M) { labtest.Main(m) }

func engine(t *testing.T, cl *labtest.Cluster) ([]*remote.Conn, string) {
	t.Helper()
	auth, closeAuth, err := remote.Auth(cl.Secrets.SSHPrivateKey, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeAuth)
	logs := t.TempDir()
	e := remote.New(remote.Config{User: cl.Spec.SSH.User, Auth: auth, LogDir: logs, Secrets: remote.SecretsOf(cl.Secrets)})
	t.Cleanup(func() { e.Close() })
	targets, err := remote.Targets(cl.Nodes, cl.Secrets)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*remote.Conn
	for _, tg := range targets {
		n, err := e.Node(tg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	return nodes, logs
}

func run(t *testing.T, n *remote.Conn, cmd string) string {
	t.Helper()
	out, err := n.Run(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

var ipvsModules = []string{"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_sh", "nf_conntrack", "br_netfilter", "overlay"}

// Node preparation on real VMs: modules really load in the guest and come
// back after a reboot, sysctls and swap are set, containerd uses the
// systemd cgroup driver; a second run changes nothing.
func TestPrepareOnRealNodes(t *testing.T) {
	cl := labtest.Boot(t, "prep", "")
	nodes, logs := engine(t, cl)
	ctx := context.Background()
	changes := map[string][]string{}
	prep := func(ctx context.Context, n *remote.Conn) error {
		r, err := nodepreprun.Node(ctx, n, cl.Spec, nodepreprun.Options{})
		changes[n.Name()] = r.Changed
		return err
	}
	// sshd is killed on the first node between its third and fourth
	// command (every sshd process: the connection kprov holds dies too);
	// systemd starts sshd again, kprov reconnects and goes on, and no
	// command runs twice.
	killer, _ := engine(t, cl)
	first := &countingNode{Node: nodes[0], before: map[int]func(){3: func() {
		killer[0].Run(ctx, "pkill -KILL -x sshd") // its own session dies too
		t.Logf("%s: killed every sshd", nodes[0].Name())
	}}}
	r, err := nodepreprun.Node(ctx, first, cl.Spec, nodepreprun.Options{})
	if err != nil {
		t.Fatalf("%s: preparation with sshd killed half-way: %v", nodes[0].Name(), err)
	}
	changes[nodes[0].Name()] = r.Changed
	if first.calls < 5 {
		t.Errorf("only %d commands: the kill did not land half-way", first.calls)
	}
	for cmd, n := range first.runs {
		if n > 1 {
			t.Errorf("%q ran %d times", cmd, n)
		}
	}
	if b, err := os.ReadFile(filepath.Join(logs, nodes[0].Name()+".log")); err != nil || strings.Count(string(b), " connected to ") < 2 {
		t.Errorf("%s's log shows no reconnection (%v):\n%s", nodes[0].Name(), err, b)
	}
	if err := remote.Each(ctx, nodes[1:], 4, prep); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if len(changes[n.Name()]) == 0 {
			t.Errorf("%s: first preparation changed nothing", n.Name())
		}
		t.Logf("%s: %s", n.Name(), strings.Join(changes[n.Name()], "; "))
	}
	if err := remote.Each(ctx, nodes, 4, prep); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if c := changes[n.Name()]; len(c) > 0 {
			t.Errorf("%s: a second preparation changed %v", n.Name(), c)
		}
	}
	check := func(n *remote.Conn) {
		t.Helper()
		lsmod := run(t, n, "lsmod")
		for _, m := range ipvsModules {
			if !strings.Contains(lsmod, "\n"+m+" ") {
				t.Errorf("%s: module %s not loaded:\n%s", n.Name(), m, lsmod)
			}
		}
		for _, k := range []string{"net.bridge.bridge-nf-call-iptables", "net.ipv4.ip_forward"} {
			if v := run(t, n, "sysctl -n "+k); v != "1" {
				t.Errorf("%s: %s = %s", n.Name(), k, v)
			}
		}
		if s := run(t, n, "swapon --show --noheadings"); s != "" {
			t.Errorf("%s: swap on: %s", n.Name(), s)
		}
		if !strings.Contains(run(t, n, "cat "+nodepreprun.ContainerdConfig), "SystemdCgroup = true") {
			t.Errorf("%s: containerd not on the systemd cgroup driver", n.Name())
		}
		if s := run(t, n, "systemctl is-active containerd"); s != "active" {
			t.Errorf("%s: containerd %s", n.Name(), s)
		}
	}
	for _, n := range nodes {
		check(n)
	}

	// After a reboot nothing but the boot itself loads the modules.
	w := nodes[len(nodes)-1]
	boot := run(t, w, "cat /proc/sys/kernel/random/boot_id")
	w.Run(ctx, "systemctl reboot") // the connection may drop before it answers
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not come back from reboot within 5 minutes", w.Name())
		}
		time.Sleep(5 * time.Second)
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		id, err := w.Run(wctx, "cat /proc/sys/kernel/random/boot_id")
		cancel()
		if err == nil && strings.TrimSpace(id) != boot {
			break
		}
	}
	check(w)
}

// The real kubeadm of the cluster's version, uploaded to a prepared node,
// accepts kprov's init configuration in a dry run there; and the fdatasync
// check measures the control plane's disk.
func TestKubeadmDryRunOnNode(t *testing.T) {
	cl := labtest.Boot(t, "dry", "")
	nodes, logs := engine(t, cl)
	ctx := context.Background()
	cp := nodes[0]
	if _, err := nodepreprun.Node(ctx, cp, cl.Spec, nodepreprun.Options{}); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(judge.Kubeadm(t, cl.Spec.KubernetesVersion))
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.Upload(ctx, "/usr/local/bin/kubeadm", bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if v := run(t, cp, "kubeadm version -o short"); v != cl.Spec.KubernetesVersion {
		t.Fatalf("kubeadm on the node is %s", v)
	}
	cfg, err := kubeadm.InitConfig(kubeadm.Input{Cluster: cl.Spec, Nodes: cl.Nodes, Secrets: cl.Secrets})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubeadmrun.PlaceCA(ctx, cp, cl.Secrets); err != nil {
		t.Fatal(err)
	}
	out, err := kubeadmrun.DryRun(ctx, cp, cfg)
	if err != nil {
		t.Fatalf("kubeadm init --dry-run on the node: %v", err)
	}
	for _, want := range []string{"[dryrun]", "Using existing ca certificate authority", "Your Kubernetes control-plane has initialized successfully"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out)
		}
	}
	// kubeadm prints the token and certificate key in its join hints: the
	// node's log must not keep them.
	log, err := os.ReadFile(filepath.Join(logs, cp.Name()+".log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "kubeadm init --dry-run") {
		t.Errorf("the node log lacks the dry run")
	}
	for _, secret := range []string{cl.Secrets.BootstrapToken, cl.Secrets.CertificateKey} {
		if strings.Contains(string(log), secret) {
			t.Errorf("the node log holds a secret")
		}
	}
	p99, err := nodepreprun.EtcdDisk(ctx, cp)
	if err != nil {
		t.Fatal(err)
	}
	if p99 <= 0 {
		t.Errorf("fdatasync p99 %v", p99)
	}
	t.Logf("fdatasync p99 on %s under software emulation: %s", cp.Name(), p99)
}

// countingNode counts the commands run through it and calls before[N]
// just before the Nth.
type countingNode struct {
	remote.Node
	before map[int]func()
	calls  int
	runs   map[string]int
}

func (c *countingNode) Run(ctx context.Context, cmd string) (string, error) {
	c.calls++
	if f := c.before[c.calls]; f != nil {
		f()
	}
	if c.runs == nil {
		c.runs = map[string]int{}
	}
	c.runs[cmd]++
	return c.Node.Run(ctx, cmd)
}
