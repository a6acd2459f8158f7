package kubeadm

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/spec"
)

// A stand-in for three control planes on one node network, in network
// namespaces: each "node" (cpN) has eth0 on a bridge, a real kube-vip run
// with the environment of kprov's static pod, and its API server port
// forwarding to one real kube-apiserver on the bridge's own address, which
// is also where the client sits. Destroying a node is what virsh destroy
// does to it: its processes killed and its link gone.
const (
	vipLAN   = "10.98.0.1"
	vipAddr  = "10.98.0.10"
	vipNodes = 3
	// How long kube-vip may take to take or move the address, and how
	// often the test looks: bounds, not targets (the test logs the time).
	vipWait = 90 * time.Second
	vipPoll = 200 * time.Millisecond
)

type vipNode struct {
	name, ns, addr string
	proc           *exec.Cmd
	done           chan struct{}
	log            string
}

// TestVIPFailover: the address is held by exactly one control plane and
// serves the API; when that one is destroyed it moves to another, and the
// API answers through it again; the destroyed node, started again, takes
// part without a second holder.
func TestVIPFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not running kube-vip and kube-apiserver")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the kube-vip judge makes network namespaces and addresses: run the test as root, or go test -short")
	}
	judge.Need(t, "ip", "iproute2")
	bin := judge.KubeVIP(t, kubeVIPVersion(t))
	p := fmt.Sprintf("kv%d", os.Getpid()%100000)
	lan := p + "lan"
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	addNS := func(ns string) {
		run("netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run("-n", ns, "link", "set", "lo", "up")
	}
	addNS(lan)
	run("-n", lan, "link", "add", "br0", "type", "bridge")
	run("-n", lan, "link", "set", "br0", "up")
	run("-n", lan, "addr", "add", vipLAN+"/24", "dev", "br0")
	nodes := make([]*vipNode, vipNodes)
	for i := range nodes {
		n := &vipNode{name: fmt.Sprintf("cp-%d", i+1), ns: fmt.Sprintf("%scp%d", p, i+1), addr: fmt.Sprintf("10.98.0.%d", 11+i)}
		nodes[i] = n
		addNS(n.ns)
		run("link", "add", p+"v"+fmt.Sprint(i), "netns", n.ns, "type", "veth", "peer", "name", fmt.Sprintf("p%d", i), "netns", lan)
		run("-n", n.ns, "link", "set", p+"v"+fmt.Sprint(i), "name", VIPInterface)
		run("-n", n.ns, "addr", "add", n.addr+"/24", "dev", VIPInterface)
		run("-n", n.ns, "link", "set", VIPInterface, "up")
		run("-n", lan, "link", "set", fmt.Sprintf("p%d", i), "master", "br0", "up")
	}
	api := judge.StartAPIServerIn(t, "v1.37.2", judge.Netns{Name: lan, Addr: vipLAN})

	// Each node's API server port is the API server's.
	for _, n := range nodes {
		l, err := judge.ListenIn(n.ns, "tcp", ":"+fmt.Sprint(APIPort))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go forward(l, lan, api.Host+":"+api.Port)
	}

	// kube-vip reads $HOME/.kube/config when /etc/kubernetes/admin.conf
	// is absent (it is hidden from it, should this machine have one).
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o700); err != nil {
		t.Fatal(err)
	}
	kc, err := os.ReadFile(api.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".kube", "config"), kc, 0o600); err != nil {
		t.Fatal(err)
	}
	pod, err := VIPPod(netip.MustParseAddr(vipAddr), 0, AdminConfPath)
	if err != nil {
		t.Fatal(err)
	}
	start := func(n *vipNode) {
		t.Helper()
		n.log = filepath.Join(home, n.name+".log")
		startKubeVIP(t, bin, home, n, pod)
	}
	for _, n := range nodes {
		start(n)
	}

	client := vipClient(t, api)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	holder := waitHolder(t, ctx, nodes, client, nil)
	t.Logf("%s took %s in %s and serves the API through it", holder.name, vipAddr, time.Since(t0).Round(time.Millisecond))
	lease, err := client.CoordinationV1().Leases("kube-system").Get(ctx, VIPLeaseName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("lease %s: %v", VIPLeaseName, err)
	}
	if h := lease.Spec.HolderIdentity; h == nil || *h != holder.name {
		t.Errorf("lease %s is held by %v, want %s (the node with the address)", VIPLeaseName, h, holder.name)
	}

	// virsh destroy: the node's processes die and its link goes.
	destroy(t, holder)
	t1 := time.Now()
	next := waitHolder(t, ctx, nodes, client, holder)
	t.Logf("%s destroyed: %s moved to %s, API answering through it after %s", holder.name, vipAddr, next.name, time.Since(t1).Round(time.Millisecond))

	// Started again (a rebooted node has only its own address): it joins
	// the election and leaves the address where it is.
	run("-n", holder.ns, "link", "set", VIPInterface, "up")
	start(holder)
	deadline := time.Now().Add(3 * spec.DefaultAPIVIPLease)
	for time.Now().Before(deadline) {
		if held := holders(t, nodes); len(held) != 1 || held[0] != next {
			t.Fatalf("after %s came back, the address is held by %v; want only %s", holder.name, names(held), next.name)
		}
		time.Sleep(vipPoll)
	}
	select {
	case <-holder.done:
		t.Fatalf("kube-vip on %s exited after the restart; log:\n%s", holder.name, readLog(holder.log))
	default:
	}
	if _, err := client.Discovery().ServerVersion(); err != nil {
		t.Fatalf("API through %s after %s came back: %v", vipAddr, holder.name, err)
	}
}

// startKubeVIP runs kube-vip manager in n's namespace with the
// environment of pod's container (the node name for spec.nodeName).
func startKubeVIP(t *testing.T, bin, home string, n *vipNode, pod []byte) {
	t.Helper()
	var p corev1.Pod
	if err := yaml.UnmarshalStrict(pod, &p); err != nil {
		t.Fatal(err)
	}
	c := p.Spec.Containers[0]
	env := []string{"HOME=" + home, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil {
			if e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
				t.Fatalf("env %s: the test knows only spec.nodeName", e.Name)
			}
			v = n.name
		}
		env = append(env, e.Name+"="+v)
	}
	log, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	script := `[ -e /etc/kubernetes ] && mount -t tmpfs kprov-test /etc/kubernetes; exec "$@"`
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.ns, "sh", "-c", script, "sh", bin}, c.Args...)...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.proc, n.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(n.done) }()
	t.Cleanup(func() { kill(n) })
}

func kill(n *vipNode) {
	if n.proc == nil {
		return
	}
	_ = syscall.Kill(-n.proc.Process.Pid, syscall.SIGKILL)
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
	}
}

// destroy kills n's kube-vip and takes its link and the address away.
func destroy(t *testing.T, n *vipNode) {
	t.Helper()
	kill(n)
	for _, args := range [][]string{
		{"-n", n.ns, "link", "set", VIPInterface, "down"},
		{"-n", n.ns, "addr", "del", vipAddr + "/32", "dev", VIPInterface},
	} {
		_ = exec.Command("ip", args...).Run()
	}
}

// holders are the nodes whose eth0 has the address.
func holders(t *testing.T, nodes []*vipNode) []*vipNode {
	t.Helper()
	var held []*vipNode
	for _, n := range nodes {
		out, err := exec.Command("ip", "-n", n.ns, "-4", "-o", "addr", "show", "dev", VIPInterface).CombinedOutput()
		if err != nil {
			t.Fatalf("ip addr on %s: %v\n%s", n.name, err, out)
		}
		if strings.Contains(string(out), " "+vipAddr+"/") {
			held = append(held, n)
		}
	}
	return held
}

func names(ns []*vipNode) []string {
	var s []string
	for _, n := range ns {
		s = append(s, n.name)
	}
	return s
}

// waitHolder waits until exactly one node other than gone holds the
// address and the API answers through it, and returns that node.
func waitHolder(t *testing.T, ctx context.Context, nodes []*vipNode, client *kubernetes.Clientset, gone *vipNode) *vipNode {
	t.Helper()
	deadline := time.Now().Add(vipWait)
	var held []*vipNode
	var lastErr error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		held = holders(t, nodes)
		if len(held) == 1 && held[0] != gone {
			if _, lastErr = client.Discovery().ServerVersion(); lastErr == nil {
				return held[0]
			}
		}
		time.Sleep(vipPoll)
	}
	var logs strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&logs, "--- %s:\n%s\n", n.name, readLog(n.log))
	}
	t.Fatalf("after %s: address on %v (want one node other than %v), API through it: %v\n%s", vipWait, names(held), gone, lastErr, logs.String())
	return nil
}

func readLog(p string) string {
	b, _ := os.ReadFile(p)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// vipClient talks to the API server through the virtual address, from the
// bridge's namespace; the serving certificate names the API server's own
// address, so TLS checks that name.
func vipClient(t *testing.T, api *judge.APIServer) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", api.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host = "https://" + net.JoinHostPort(vipAddr, fmt.Sprint(APIPort))
	cfg.TLSClientConfig.ServerName = api.Host
	cfg.Timeout = 3 * time.Second
	cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return judge.DialIn(ctx, api.Netns, network, addr)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// forward copies each connection l takes to addr, dialled in netns.
func forward(l net.Listener, netns, addr string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			up, err := judge.DialIn(ctx, netns, "tcp", addr)
			cancel()
			if err != nil {
				return
			}
			defer up.Close()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			_, _ = io.Copy(c, up)
		}()
	}
}
