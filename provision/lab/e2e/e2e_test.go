package e2e_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/labtest"
)

// A whole `kprov up` of the lab's stack; after kubeadm init, etcd backed
// up and restored (kprov backup, restore); then its networking proven with
// packets: nodes Ready and every system pod Running; BGP established
// between all nodes (TCP 179 and BIRD's own view); pod addresses from the
// pool; pod-to-pod HTTP across nodes; the pod MTU exact (a don't-fragment
// ping of exactly that size passes, one byte more does not); IPVS holding
// the Services with the spec's scheduler, a ClusterIP answering from a
// node and from a pod, DNS; the ingress answering on MetalLB's address
// with the client's own address, the NodePort only where Traefik runs;
// default deny and the global deny blocking while DNS passes, and an
// allowing policy letting the traffic through; kprov verify; a second up
// that changes nothing; down leaving nothing.
func TestLabCluster(t *testing.T) {
	l := newLab(t)
	start := time.Now()
	_, msg := l.kprov("up", "--skip", "kubeadm/join,addons", l.spec)
	t.Logf("up to kubeadm init: %s\n%s", time.Since(start).Round(time.Second), msg)

	// etcd backed up and restored: it needs only the control plane.
	l.backupRestore()

	// 7. Failure is legible: with the kubelet's port on worker-1 taken,
	// the join fails naming the phase, the node, the command and
	// kubeadm's own words; freed, the next up completes.
	if out, err := l.node("worker-1", "sudo systemd-run --unit=e2e-port-taken socat TCP-LISTEN:10250,fork,reuseaddr SYSTEM:true"); err != nil {
		t.Fatalf("take port 10250 on worker-1: %v\n%s", err, out)
	}
	stdout, stderr, err := l.kprovErr("up", l.spec)
	if err == nil {
		t.Fatalf("up passed with worker-1's port 10250 taken:\n%s", stdout)
	}
	for _, want := range []string{"kubeadm/join", "node worker-1", "kubeadm join --config", "Port-10250"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the failed join's error does not say %q:\n%s", want, stderr)
		}
	}
	if out, err := l.node("worker-1", "sudo systemctl stop e2e-port-taken"); err != nil {
		t.Fatalf("free port 10250 on worker-1: %v\n%s", err, out)
	}
	start = time.Now()
	_, msg = l.kprov("up", l.spec)
	t.Logf("up after the failed join: %s\n%s", time.Since(start).Round(time.Second), msg)

	// 1. kprov kubeconfig works with kubectl from here.
	kc, _ := l.kprov("kubeconfig", l.spec)
	l.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(l.kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	ips := l.nodeIPs()
	if len(ips) != 3 {
		t.Fatalf("nodes: %v", ips)
	}
	eventually(t, "every system pod Running", 10*time.Minute, func() (bool, string) {
		out, err := l.kubectl("", "get", "pods", "-A", "--no-headers", "-o", "custom-columns=NS:.metadata.namespace,NAME:.metadata.name,PHASE:.status.phase,READY:.status.containerStatuses[*].ready")
		if err != nil {
			return false, err.Error()
		}
		var bad []string
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(line); len(f) < 4 || f[2] != "Running" || strings.Contains(f[3], "false") {
				bad = append(bad, line)
			}
		}
		return len(bad) == 0 && strings.Count(out, "\n") >= 12, strings.Join(bad, "; ")
	})
	for _, ns := range []string{"kube-system", "metallb-system", "traefik"} {
		if out := l.mustKubectl("", "get", "pods", "-n", ns, "--no-headers"); strings.TrimSpace(out) == "" {
			t.Errorf("no pods in %s", ns)
		}
	}

	// 2. Calico: BGP sessions between all nodes, seen on TCP and by BIRD.
	for name := range ips {
		out, err := l.node(name, "sudo ss -Htn state established '( sport = :179 or dport = :179 )' | wc -l; "+
			"sudo crictl exec $(sudo crictl ps -q --name calico-node | head -1) birdc -s /var/run/calico/bird.ctl show protocols")
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if strings.TrimSpace(lines[0]) != "2" || strings.Count(out, "Established") != 2 {
			t.Errorf("%s: want 2 BGP sessions established (TCP and BIRD):\n%s", name, out)
		}
	}

	// Test pods: an agnhost server on each worker, in a namespace the
	// global default deny covers, with a policy that lets them talk.
	l.mustKubectl(testPods, "apply", "-f", "-")
	eventually(t, "test pods Running", 8*time.Minute, func() (bool, string) {
		out, err := l.kubectl("", "-n", "e2e", "get", "pods", "-o", "custom-columns=N:.metadata.name,P:.status.phase,IP:.status.podIP", "--no-headers")
		return err == nil && strings.Count(out, "Running") == 3, out
	})
	pods := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(l.mustKubectl("", "-n", "e2e", "get", "pods", "-o", "custom-columns=N:.metadata.name,IP:.status.podIP", "--no-headers")), "\n") {
		f := strings.Fields(line)
		pods[f[0]] = f[1]
		if !podCIDR.MatchString(f[1]) {
			t.Errorf("pod %s has %s, outside the pool 192.168.0.0/16", f[0], f[1])
		}
	}
	exec := func(pod string, args ...string) (string, error) {
		return l.kubectl("", append([]string{"-n", "e2e", "exec", pod, "--"}, args...)...)
	}

	// Pod to pod across nodes, over HTTP: the client on worker-1 asks
	// the server on worker-2 who it saw.
	out, err := exec("client", "curl", "-sS", "--max-time", "10", "http://"+pods["server-2"]+":8080/clientip")
	if err != nil || !strings.HasPrefix(out, pods["client"]+":") {
		t.Errorf("client -> server-2 across nodes: %v: %q (want %s:PORT)", err, out, pods["client"])
	}
	// The pod MTU is what kprov computed (1500 on a 1500 NIC, no
	// encapsulation): DF pings of exactly that size pass, one more byte fails.
	if mtu, err := exec("client", "cat", "/sys/class/net/eth0/mtu"); err != nil || strings.TrimSpace(mtu) != "1500" {
		t.Errorf("client eth0 MTU %q %v, want 1500", mtu, err)
	}
	if out, err := exec("client", "ping", "-c", "1", "-W", "5", "-M", "do", "-s", "1472", pods["server-2"]); err != nil {
		t.Errorf("DF ping of 1500 bytes across nodes: %v\n%s", err, out)
	}
	if out, err := exec("client", "ping", "-c", "1", "-W", "5", "-M", "do", "-s", "1473", pods["server-2"]); err == nil {
		t.Errorf("DF ping of 1501 bytes passed:\n%s", out)
	}

	// 3. kube-proxy in IPVS mode: the kubernetes Service and the test
	// Service with the spec's scheduler (rr); a ClusterIP from a node and
	// from a pod; DNS.
	svcIP := strings.TrimSpace(l.mustKubectl("", "-n", "e2e", "get", "svc", "server", "-o", "jsonpath={.spec.clusterIP}"))
	out, err = l.node("worker-1", "sudo ipvsadm -Ln")
	if err != nil || !strings.Contains(out, "TCP  10.96.0.1:443 rr") || !strings.Contains(out, "TCP  "+svcIP+":8080 rr") {
		t.Errorf("ipvsadm -Ln on worker-1 (want 10.96.0.1:443 and %s:8080, rr): %v\n%s", svcIP, err, out)
	}
	if out, err := l.node("worker-2", "curl -sS --max-time 10 http://"+svcIP+":8080/hostname"); err != nil || !strings.HasPrefix(strings.TrimSpace(out), "server-") {
		t.Errorf("ClusterIP from worker-2: %v %q", err, out)
	}
	if out, err := exec("client", "curl", "-sS", "--max-time", "10", "http://server.e2e.svc.cluster.local:8080/hostname"); err != nil || !strings.HasPrefix(out, "server-") {
		t.Errorf("Service by DNS name from a pod: %v %q", err, out)
	}

	// 4. The ingress on MetalLB's address keeps the client's address.
	eventually(t, "the ingress answers on "+vip, 5*time.Minute, func() (bool, string) {
		out, err := httpGet("http://"+vip+"/header?key=X-Real-Ip", "e2e.lab")
		if err != nil {
			return false, err.Error()
		}
		return strings.TrimSpace(out) == gateway, "backend saw X-Real-Ip " + out
	})
	node := strings.TrimSpace(l.mustKubectl("", "-n", "traefik", "get", "pods", "-o", "jsonpath={.items[0].spec.nodeName}"))
	port := strings.TrimSpace(l.mustKubectl("", "-n", "traefik", "get", "svc", "traefik", "-o", `jsonpath={.spec.ports[?(@.name=="http")].nodePort}`))
	for name, ip := range ips {
		_, err := httpGet(fmt.Sprintf("http://%s:%s/header?key=X-Real-Ip", ip, port), "e2e.lab")
		switch {
		case name == node && err != nil:
			t.Errorf("NodePort %s on %s, where Traefik runs: %v", port, name, err)
		case name != node && err == nil:
			t.Errorf("NodePort %s on %s, without Traefik, answered (externalTrafficPolicy Local): %v", port, name, err)
		}
	}

	// 5. Policies. default has kprov's default deny; a namespace made
	// after up falls under the global deny; DNS works from both.
	l.mustKubectl(deniedPods, "apply", "-f", "-")
	eventually(t, "denied pods Running", 8*time.Minute, func() (bool, string) {
		out, err := l.kubectl("", "get", "pods", "-A", "-l", "e2e=denied", "--no-headers")
		return err == nil && strings.Count(out, "Running") == 2, out
	})
	for _, ns := range []string{"default", "late"} {
		ip := strings.TrimSpace(l.mustKubectl("", "-n", ns, "get", "pod", "target", "-o", "jsonpath={.status.podIP}"))
		if out, err := exec("client", "curl", "-sS", "--max-time", "5", "http://"+ip+":8080/hostname"); err == nil {
			t.Errorf("%s/target answered a pod of another namespace through default deny: %q", ns, out)
		}
		if out, err := l.kubectl("", "-n", ns, "exec", "target", "--", "getent", "hosts", "kubernetes.default.svc.cluster.local"); err != nil || !strings.Contains(out, "10.96.0.1") {
			t.Errorf("DNS from %s/target under default deny: %v %q", ns, err, out)
		}
		// kube-system is unaffected: CoreDNS answered above; an allowing
		// policy lets the traffic through (the check above can fail).
		l.mustKubectl(allowFrom(ns), "apply", "-f", "-")
		eventually(t, ns+"/target reachable once allowed", 2*time.Minute, func() (bool, string) {
			out, err := exec("client", "curl", "-sS", "--max-time", "5", "http://"+ip+":8080/hostname")
			return err == nil && strings.TrimSpace(out) == "target", fmt.Sprint(err, out)
		})
	}

	// 6. verify passes, with its packet probe too; a second up changes
	// nothing; down leaves nothing.
	if out, _ := l.kprov("verify", l.spec); regexp.MustCompile(`(?m)^(FAIL|✗)`).MatchString(out) {
		t.Errorf("verify:\n%s", out)
	}
	out, _ = l.kprov("verify", "--probe", l.spec)
	t.Logf("verify --probe:\n%s", out)
	if n := strings.Count(out, "\nok   probe "); n < 9 {
		t.Errorf("verify --probe passed %d probe checks, want 9", n)
	}
	if regexp.MustCompile(`(?m)^(FAIL|skip)`).MatchString(out) {
		t.Errorf("verify --probe failed or skipped a check:\n%s", out)
	}
	if left := l.mustKubectl("", "get", "namespaces", "-o", "name"); strings.Contains(left, "kprov-probe-") {
		t.Errorf("verify --probe left its namespace:\n%s", left)
	}
	start = time.Now()
	_, msg = l.kprov("up", l.spec)
	t.Logf("second up: %s\n%s", time.Since(start).Round(time.Second), msg)
	if !strings.Contains(msg, "0 changes") {
		t.Errorf("second up changed something:\n%s", msg)
	}
	l.kprov("down", l.spec)
	if out := labtest.Virsh(t, "list", "--all", "--name"); strings.Contains(out, "kprov-e2e") {
		t.Errorf("domains left after down:\n%s", out)
	}
	if _, err := os.Stat("/var/lib/kprov-test/e2e"); !os.IsNotExist(err) {
		t.Errorf("pool folder left after down: %v", err)
	}
	var st struct {
		Nodes []struct{ Name, State string }
	}
	out, _ = l.kprov("status", l.spec, "-o", "json")
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Nodes) != 3 || st.Nodes[0].State != "missing" {
		t.Errorf("status after down: %v\n%s", err, out)
	}
}
