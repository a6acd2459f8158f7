package verify

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/judge"
)

// A pod's network in network namespaces: the client (eth0 with the pod
// MTU) reaches server-b's stand-in through a router whose link towards
// it carries link bytes, as a tunnel between nodes would.
const (
	nsClientIP = "10.99.1.2"
	nsPeerIP   = "10.99.2.2"
	nsTargetIP = "10.99.2.3"
	nsPodMTU   = 1480
)

// netnsLab makes the three namespaces and returns the client's; the
// test's cleanup removes them. With drop, the server drops TCP to the
// target address (a default deny); without, the target answers.
func netnsLab(t *testing.T, id string, link int, drop bool) string {
	t.Helper()
	p := fmt.Sprintf("kpv%d%s", os.Getpid()%100000, id)
	c, r, s := p+"c", p+"r", p+"s"
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	for _, ns := range []string{c, r, s} {
		run("ip", "netns", "add", ns)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", ns).Run() })
		run("ip", "-n", ns, "link", "set", "lo", "up")
	}
	run("ip", "link", "add", p+"a", "netns", c, "type", "veth", "peer", "name", p+"b", "netns", r)
	run("ip", "link", "add", p+"x", "netns", r, "type", "veth", "peer", "name", p+"y", "netns", s)
	run("ip", "-n", c, "link", "set", p+"a", "name", "eth0")
	mtu := fmt.Sprint(nsPodMTU)
	run("ip", "-n", c, "link", "set", "eth0", "mtu", mtu, "up")
	run("ip", "-n", c, "addr", "add", nsClientIP+"/24", "dev", "eth0")
	run("ip", "-n", c, "route", "add", "default", "via", "10.99.1.1")
	run("ip", "-n", r, "link", "set", p+"b", "mtu", mtu, "up")
	run("ip", "-n", r, "addr", "add", "10.99.1.1/24", "dev", p+"b")
	run("ip", "-n", r, "link", "set", p+"x", "mtu", fmt.Sprint(link), "up")
	run("ip", "-n", r, "addr", "add", "10.99.2.1/24", "dev", p+"x")
	run("ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	run("ip", "-n", s, "link", "set", p+"y", "mtu", fmt.Sprint(link), "up")
	run("ip", "-n", s, "addr", "add", nsPeerIP+"/24", "dev", p+"y")
	run("ip", "-n", s, "addr", "add", nsTargetIP+"/24", "dev", p+"y")
	run("ip", "-n", s, "route", "add", "default", "via", "10.99.2.1")
	if drop {
		run("ip", "netns", "exec", s, "iptables", "-A", "INPUT", "-d", nsTargetIP, "-p", "tcp", "--dport", "8080", "-j", "DROP")
	}
	// netexec's stand-ins on both addresses.
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("/clientip", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, r.RemoteAddr) })
	mux.HandleFunc("/hostname", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "server-b") })
	for _, ip := range []string{nsPeerIP, nsTargetIP} {
		l, err := judge.ListenIn(s, "tcp", ip+":8080")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: mux}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { srv.Close() })
	}
	return c
}

// pings are the ping commands of this machine: BusyBox's (the agnhost
// image's) and iputils'.
func pings(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	if bb, err := exec.LookPath("busybox"); err == nil {
		out["busybox"] = bb
	}
	if p, err := exec.LookPath("ping"); err == nil {
		if v, _ := exec.Command(p, "-V").CombinedOutput(); strings.Contains(string(v), "iputils") {
			out["iputils"] = p
		}
	}
	if len(out) == 0 {
		t.Skip("no busybox and no iputils ping (apt-get install busybox iputils-ping)")
	}
	return out
}

// TestClientScriptNetns runs the client's script with real ping and curl
// between network namespaces: the path MTU check passes when the path
// carries the pod MTU and fails when a link carries less, the pod-to-pod
// check sees the client's own address, and the deny check passes only
// when the target's packets are dropped.
func TestClientScriptNetns(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it makes network namespaces (ip netns add)")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl on this machine")
	}
	n := 0
	for impl, bin := range pings(t) {
		for _, tc := range []struct {
			link       int
			drop       bool
			mtu, deny  string
			mtuDetail  string
			denyDetail string
		}{
			{nsPodMTU, true, "ok", "ok", "reach", "did not answer"},
			{1400, false, "fail", "fail", "carries less than the pod MTU", "answered"},
		} {
			n++
			t.Run(fmt.Sprintf("%s/link %d", impl, tc.link), func(t *testing.T) {
				ns := netnsLab(t, fmt.Sprint(n), tc.link, tc.drop)
				dir := t.TempDir()
				if err := os.Symlink(bin, filepath.Join(dir, "ping")); err != nil {
					t.Fatal(err)
				}
				writeStub(t, dir, "nslookup", 0)
				s := clientScript{
					MTU: nsPodMTU, MTUFile: "/sys/class/net/eth0/mtu", Peer: nsPeerIP, Warm: nsPeerIP,
					ServiceIP: nsPeerIP, Servers: []string{"server-b"}, ServiceName: nsPeerIP,
					APIName: "kubernetes.default.svc.cluster.local", Target: nsTargetIP, WarmTries: 5,
				}
				sh := shells(t)[0]
				out, stderr := sh.runIn(t, ns, dir, s.Script(), "POD_IP="+nsClientIP)
				res, end := parseResults(out)
				if !end {
					t.Fatalf("no end marker:\n%s\n%s", out, stderr)
				}
				want := map[string]string{checkEth0MTU: "ok", checkPathMTU: tc.mtu, checkPodToPod: "ok", checkService: "ok", checkDNSService: "ok", checkDNSAPI: "ok", checkDeny: tc.deny}
				for c, w := range want {
					if res[c].status != w {
						t.Errorf("%s: %v, want %s", c, res[c], w)
					}
				}
				if !strings.Contains(res[checkPathMTU].detail, tc.mtuDetail) || !strings.Contains(res[checkDeny].detail, tc.denyDetail) {
					t.Errorf("details: %q, %q", res[checkPathMTU].detail, res[checkDeny].detail)
				}
				if t.Failed() || testing.Verbose() {
					t.Logf("output:\n%s\nstderr:\n%s", out, stderr)
				}
			})
		}
	}
}
