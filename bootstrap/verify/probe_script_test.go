package verify

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The addresses of the script tests: the client, server-b on the other
// node, the Service and the default-deny target.
const (
	tClient  = "10.244.1.11"
	tPeer    = "10.244.2.10"
	tService = "10.96.0.50"
	tTarget  = "10.244.2.12"
)

// answers is how the stubs behave in one scenario.
type answers struct {
	eth0     string // the MTU file's content
	iputils  bool   // ping -V says iputils
	fits     int    // exit code of the ping of exactly the MTU (1452 data bytes)
	oversize int    // exit code of the ping one byte over (iputils only)
	clientip string // what server-b saw ("" is this pod)
	svc      string // hostname answered on the Service IP ("" fails)
	svcName  string // hostname answered on the Service's DNS name
	dns      int    // nslookup's exit code
	target   int    // curl's exit code towards the target
	warm     int    // curl's exit code towards server-b's /healthz
}

func goodAnswers() answers {
	return answers{eth0: "1480", iputils: true, fits: 0, oversize: 1, svc: "server-b", svcName: "server-a", target: 28}
}

// stubs writes curl, ping, nslookup and sleep answering as a says into a
// new directory.
func stubs(t *testing.T, a answers) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mtu"), []byte(a.eth0+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	clientip := stubCase{"*http://" + tPeer + ":8080/clientip", `printf '%s' "$POD_IP:41234"`, 0}
	if a.clientip != "" {
		clientip.action = prints(a.clientip)
	}
	curl := []stubCase{
		{"*http://" + tPeer + ":8080/healthz", "", a.warm},
		clientip,
		{"*http://" + tTarget + ":8080/hostname", "echo 'curl: (28) Connection timed out' >&2", a.target},
	}
	if a.svc != "" {
		curl = append(curl, stubCase{"*http://" + tService + ":8080/hostname", prints(a.svc), 0})
	}
	if a.svcName != "" {
		curl = append(curl, stubCase{"*http://probe-server.kprov-probe-abcde.svc.cluster.local:8080/hostname", prints(a.svcName), 0})
	}
	writeStub(t, dir, "curl", 7, curl...)
	var ping []stubCase
	if a.iputils {
		ping = append(ping, stubCase{"-V", prints("ping from iputils 20221126"), 0},
			stubCase{"*'-M do -s 1452 '*", "", a.fits},
			stubCase{"*'-M do -s 1453 '*", "", a.oversize})
	} else {
		ping = append(ping, stubCase{"-V", "echo 'ping: invalid option -- V' >&2", 1},
			stubCase{"*-M*", "echo 'ping: invalid option -- M' >&2", 1},
			stubCase{"*'-s 1452 '*", "", a.fits})
	}
	writeStub(t, dir, "ping", 1, ping...)
	writeStub(t, dir, "nslookup", a.dns, stubCase{"*", "echo ';; connection timed out; no servers could be reached'", a.dns})
	writeStub(t, dir, "sleep", 0)
	return dir
}

func testScript(dir string) clientScript {
	return clientScript{
		MTU: 1480, MTUFile: filepath.Join(dir, "mtu"), Peer: tPeer, Warm: tPeer,
		ServiceIP: tService, Servers: []string{"server-a", "server-b"},
		ServiceName: "probe-server.kprov-probe-abcde.svc.cluster.local",
		APIName:     "kubernetes.default.svc.cluster.local",
		Target:      tTarget, WarmTries: 3,
	}
}

// TestClientScript runs the client's script against stub commands and
// checks each result line: the script can fail every check.
func TestClientScript(t *testing.T) {
	all := []string{checkEth0MTU, checkPathMTU, checkPodToPod, checkService, checkDNSService, checkDNSAPI, checkDeny}
	tests := []struct {
		name   string
		change func(*answers)
		fail   []string // the checks that fail; the others pass
		detail string   // in some failing check's detail
	}{
		{"all pass with iputils ping", func(*answers) {}, nil, ""},
		{"all pass with busybox ping", func(a *answers) { a.iputils = false }, nil, ""},
		{"eth0 MTU not the pod MTU", func(a *answers) { a.eth0 = "1500" }, []string{checkEth0MTU}, "eth0 MTU 1500, want 1480"},
		{"MTU-sized packet lost between nodes", func(a *answers) { a.fits = 1 }, []string{checkPathMTU}, "carries less than the pod MTU"},
		{"MTU-sized packet lost, busybox ping", func(a *answers) { a.iputils, a.fits = false, 1 }, []string{checkPathMTU}, "DF set by the kernel"},
		{"oversized packet leaves", func(a *answers) { a.oversize = 0 }, []string{checkPathMTU}, "1481-byte ping"},
		{"pod traffic NATed", func(a *answers) { a.clientip = "192.168.122.12:3320" }, []string{checkPodToPod}, "answered '192.168.122.12:3320', want " + tClient},
		{"Service does not answer", func(a *answers) { a.svc = "" }, []string{checkService}, "kube-proxy does not forward"},
		{"Service name answered by a stranger", func(a *answers) { a.svcName = "someone-else" }, []string{checkDNSService}, "someone-else"},
		{"DNS fails", func(a *answers) { a.dns, a.svcName = 1, "" }, []string{checkDNSService, checkDNSAPI}, "no servers could be reached"},
		{"default deny open", func(a *answers) { a.target = 0 }, []string{checkDeny}, "not in force"},
		{"default deny refuses", func(a *answers) { a.target = 7 }, []string{checkDeny}, "exited 7"},
		{"default deny without a control", func(a *answers) { a.warm = 7 }, []string{checkDeny}, "proves nothing"},
	}
	for _, sh := range shells(t) {
		for _, tc := range tests {
			t.Run(sh.name+"/"+tc.name, func(t *testing.T) {
				a := goodAnswers()
				tc.change(&a)
				dir := stubs(t, a)
				out, stderr := sh.run(t, dir, testScript(dir).Script(), "POD_IP="+tClient)
				res, end := parseResults(out)
				if !end {
					t.Fatalf("no end marker:\n%s\n%s", out, stderr)
				}
				details := ""
				for _, c := range all {
					want := "ok"
					if slices.Contains(tc.fail, c) {
						want = "fail"
						details += res[c].detail + "\n"
					}
					if res[c].status != want {
						t.Errorf("%s: %s %q, want %s", c, res[c].status, res[c].detail, want)
					}
				}
				if !strings.Contains(details, tc.detail) {
					t.Errorf("failing details %q lack %q", details, tc.detail)
				}
				if t.Failed() || testing.Verbose() {
					t.Logf("output:\n%s\nstderr:\n%s\ncalls:\n%s", out, stderr, strings.Join(calls(t, dir), "\n"))
				}
			})
		}
	}
}

// TestClientScriptOrder: the MTU-sized ping is the first packet of that
// size to the peer and is sent once (the kernel fragments later ones
// itself once a router answered "fragmentation needed"); the warm-up
// before it is bounded.
func TestClientScriptOrder(t *testing.T) {
	a := goodAnswers()
	dir := stubs(t, a)
	// The warm-up never succeeds.
	writeStub(t, dir, "curl", 7, stubCase{"*/clientip", `printf '%s' "$POD_IP:1"`, 0})
	s := testScript(dir)
	s.Target = ""
	out, _ := shells(t)[0].run(t, dir, s.Script(), "POD_IP="+tClient)
	got := calls(t, dir)
	warm, pings, clientip := 0, 0, -1
	for i, c := range got {
		switch {
		case strings.HasSuffix(c, "/healthz"):
			warm++
		case strings.Contains(c, "-s 1452"):
			pings++
			if clientip >= 0 {
				t.Errorf("the MTU ping (call %d) comes after the clientip request (call %d)", i, clientip)
			}
		case strings.HasSuffix(c, "/clientip"):
			clientip = i
		}
	}
	if warm != 3 || pings != 1 {
		t.Errorf("%d warm-up requests (want 3, WarmTries), %d MTU-sized pings (want 1):\n%s", warm, pings, strings.Join(got, "\n"))
	}
	if res, _ := parseResults(out); res[checkPathMTU].status != "ok" {
		t.Errorf("path-mtu %v", res[checkPathMTU])
	}
}

// TestClientScriptOneNode: without a peer there is no ping and no
// cross-node result; without a target no deny result.
func TestClientScriptOneNode(t *testing.T) {
	dir := stubs(t, goodAnswers())
	s := testScript(dir)
	s.Peer, s.Target = "", ""
	out, _ := shells(t)[0].run(t, dir, s.Script(), "POD_IP="+tClient)
	res, end := parseResults(out)
	if !end {
		t.Fatalf("no end marker:\n%s", out)
	}
	for _, c := range []string{checkPathMTU, checkPodToPod, checkDeny} {
		if _, ok := res[c]; ok {
			t.Errorf("%s reported with one node and no target: %v", c, res[c])
		}
	}
	for _, c := range []string{checkEth0MTU, checkService, checkDNSService, checkDNSAPI} {
		if res[c].status != "ok" {
			t.Errorf("%s: %v", c, res[c])
		}
	}
	for _, c := range calls(t, dir) {
		if strings.HasPrefix(c, "ping ") {
			t.Errorf("ping with one node: %s", c)
		}
	}
}

// TestScriptQuoting: values reach the commands as they are, never run.
func TestScriptQuoting(t *testing.T) {
	evil := "x'$(touch pwned1)`touch pwned2`;touch pwned3\n"
	dir := stubs(t, goodAnswers())
	s := testScript(dir)
	s.APIName = evil
	s.Servers = []string{"a|b) touch pwned4;;", "server-b"}
	for _, sh := range shells(t) {
		out, stderr := sh.run(t, dir, s.Script(), "POD_IP="+tClient)
		out2, stderr2 := sh.run(t, dir, targetScript(evil, 1), "POD_IP="+tTarget)
		for _, f := range []string{"pwned1", "pwned2", "pwned3", "pwned4"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				t.Errorf("%s: %s was created:\n%s\n%s\n%s\n%s", sh.name, f, out, stderr, out2, stderr2)
			}
		}
		res, _ := parseResults(out)
		if res[checkService].status != "ok" {
			t.Errorf("%s: service %v", sh.name, res[checkService])
		}
	}
	n := 0
	for _, c := range calls(t, dir) {
		if c == "nslookup "+evil[:len(evil)-1] {
			n++
		}
	}
	// The last line of the value is on the next line of calls.
	if n == 0 {
		t.Errorf("nslookup never got the name as it is:\n%s", strings.Join(calls(t, dir), "\n"))
	}
}

// TestTargetScript: the target reports DNS under default deny, retrying
// a bounded number of times, then becomes netexec.
func TestTargetScript(t *testing.T) {
	for _, sh := range shells(t) {
		for _, rc := range []int{0, 1} {
			a := goodAnswers()
			a.dns = rc
			dir := stubs(t, a)
			out, stderr := sh.run(t, dir, targetScript("kubernetes.default.svc.cluster.local", 4), "POD_IP="+tTarget)
			res, _ := parseResults(out)
			want := map[int]string{0: "ok", 1: "fail"}[rc]
			if res[checkDenyDNS].status != want {
				t.Errorf("%s: nslookup exit %d: %v, want %s\n%s", sh.name, rc, res[checkDenyDNS], want, out)
			}
			lookups := 0
			for _, c := range calls(t, dir) {
				if strings.HasPrefix(c, "nslookup ") {
					lookups++
				}
			}
			if wantN := map[int]int{0: 1, 1: 4}[rc]; lookups != wantN {
				t.Errorf("%s: %d lookups, want %d", sh.name, lookups, wantN)
			}
			if !strings.Contains(stderr, "/agnhost") {
				t.Errorf("%s: netexec not exec'd after the lookup: stderr %q", sh.name, stderr)
			}
		}
	}
}
