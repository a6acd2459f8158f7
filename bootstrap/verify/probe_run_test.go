package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kprov/kprov/internal/judge"
)

// kubelet stands in for the nodes and the controllers a bare API server
// lacks: it gives each probe pod an address and a Ready status, runs the
// client's and the target's scripts under dash with stub commands (the
// answers of a healthy cluster) and keeps their output as their logs.
type kubelet struct {
	t     *testing.T
	cs    kubernetes.Interface
	stubs string
	// hold keeps the client from ever finishing; pullFail makes
	// server-b's image unpullable; onClient runs when the client starts.
	hold, pullFail bool
	onClient       func()

	mu    sync.Mutex
	logs  map[string]string // namespace/name -> output
	nodes map[string]string // pod name -> node
	seen  map[string]bool   // namespace/name of the pods started (the loop's own)
}

func newKubelet(t *testing.T, cs kubernetes.Interface) *kubelet {
	k := &kubelet{t: t, cs: cs, stubs: stubs(t, goodAnswers()), logs: map[string]string{}, nodes: map[string]string{}, seen: map[string]bool{}}
	writeStub(t, k.stubs, "curl", 7,
		stubCase{"*:8080/healthz", "", 0},
		stubCase{"*http://" + tPeer + ":8080/clientip", `printf '%s' "$POD_IP:41234"`, 0},
		stubCase{"*http://" + tTarget + ":8080/hostname", "", 28},
		stubCase{"*:8080/hostname", prints("server-a"), 0})
	return k
}

func podIP(name string) string {
	switch {
	case name == serverA:
		return "10.244.1.10"
	case name == serverB:
		return tPeer
	case name == probeClient:
		return tClient
	}
	return tTarget
}

// start runs the kubelet until ctx ends (at most 3 minutes).
func (k *kubelet) start(ctx context.Context) (wait func()) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			pods, err := k.cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: ProbeLabel})
			if err == nil {
				for i := range pods.Items {
					if p := &pods.Items[i]; p.Status.PodIP == "" && !k.seen[p.Namespace+"/"+p.Name] {
						k.run(ctx, p)
					}
				}
			}
			// kube-controller-manager's part: a default ServiceAccount
			// in each new namespace.
			if nss, err := k.cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: ProbeLabel}); err == nil {
				for _, ns := range nss.Items {
					sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns.Name}}
					_, _ = k.cs.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{})
				}
			}
			svcs, err := k.cs.CoreV1().Services("").List(ctx, metav1.ListOptions{})
			if err == nil {
				for i := range svcs.Items {
					if s := &svcs.Items[i]; s.Spec.ClusterIP == "" {
						s.Spec.ClusterIP = tService
						_, _ = k.cs.CoreV1().Services(s.Namespace).Update(ctx, s, metav1.UpdateOptions{})
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (k *kubelet) run(ctx context.Context, p *corev1.Pod) {
	now := metav1.Now()
	c := p.Spec.Containers[0]
	if k.pullFail && p.Name == serverB {
		p.Status = corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: c.Name, Image: c.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image " + c.Image}},
		}}}
		if _, err := k.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err == nil {
			k.seen[p.Namespace+"/"+p.Name] = true
		}
		return
	}
	ip := podIP(p.Name)
	p.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, HostIP: "10.17.0.11", PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &now,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: c.Name, Image: c.Image, Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}},
		}},
	}
	p, err := k.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	if err != nil {
		if ctx.Err() == nil {
			k.t.Logf("kubelet: pod status: %v", err)
		}
		return
	}
	k.seen[p.Namespace+"/"+p.Name] = true
	k.mu.Lock()
	k.nodes[p.Name] = p.Spec.NodeName
	k.mu.Unlock()
	role := p.Labels[ProbeLabel]
	if role == roleClient && k.onClient != nil {
		k.onClient()
	}
	if role == roleServer || (role == roleClient && k.hold) {
		return
	}
	if len(c.Env) != 1 || c.Env[0].ValueFrom == nil || c.Env[0].ValueFrom.FieldRef.FieldPath != "status.podIP" {
		k.t.Errorf("pod %s: env %+v, want POD_IP from status.podIP", p.Name, c.Env)
	}
	if len(c.Command) != 3 || c.Command[0] != "sh" || c.Command[1] != "-c" {
		k.t.Errorf("pod %s: command %q", p.Name, c.Command)
		return
	}
	script := strings.Replace(c.Command[2], "MTU_FILE=/sys/class/net/eth0/mtu", "MTU_FILE="+filepath.Join(k.stubs, "mtu"), 1)
	out, _ := shell{name: "dash", argv: []string{"/bin/sh"}}.run(k.t, k.stubs, script, "POD_IP="+ip)
	k.mu.Lock()
	k.logs[p.Namespace+"/"+p.Name] = out
	k.mu.Unlock()
	if role == roleClient {
		p.Status.Phase = corev1.PodSucceeded
		p.Status.ContainerStatuses[0].State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: metav1.Now()}}
		p.Status.ContainerStatuses[0].Ready = false
		_, _ = k.cs.CoreV1().Pods(p.Namespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	}
}

func (k *kubelet) log(_ context.Context, ns, name string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.logs[ns+"/"+name], nil
}

// ingressStandIn answers as the ingress controller in front of the probe
// servers: X-Real-Ip is the client's address; the first two requests
// find no route yet (404), as before Traefik reads a new Ingress.
func ingressStandIn(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 2 || r.Host != ingressHost || r.URL.Path != "/header" || r.URL.Query().Get("key") != "X-Real-Ip" {
			http.NotFound(w, r)
			return
		}
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		fmt.Fprint(w, host)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

func readyNode(name string, taints ...corev1.Taint) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.NodeSpec{Taints: taints},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
	}
}

func controlPlaneNode() *corev1.Node {
	return readyNode("cp-1", corev1.Taint{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule})
}

func testProber(cs kubernetes.Interface, k *kubelet) *Prober {
	return &Prober{Client: cs, Logs: k.log, Poll: 20 * time.Millisecond, IngressWait: 10 * time.Second, CleanupTimeout: 10 * time.Second, WarmTries: 2}
}

// expectMarks checks the checks' marks: name fragment -> "ok", "skip" or
// "FAIL", and a fragment of the detail.
func expectMarks(t *testing.T, checks []Check, want map[string][2]string) {
	t.Helper()
	var b strings.Builder
	Print(&b, checks)
	t.Log("\n" + b.String())
	for frag, w := range want {
		found := false
		for _, c := range checks {
			if !strings.Contains(c.Name, frag) {
				continue
			}
			found = true
			mark := map[bool]string{true: "ok", false: "FAIL"}[c.OK]
			if c.Skipped {
				mark = "skip"
			}
			if mark != w[0] || !strings.Contains(c.Detail, w[1]) {
				t.Errorf("%s: %s %q, want %s with %q", c.Name, mark, c.Detail, w[0], w[1])
			}
		}
		if !found {
			t.Errorf("no check named like %q", frag)
		}
	}
}

func allOK(ingress string) map[string][2]string {
	return map[string][2]string{
		"eth0 MTU": {"ok", "1480"}, "path MTU": {"ok", "1480-byte pings"}, "pod to pod": {"ok", tClient},
		"through kube-proxy": {"ok", "server-a"}, "DNS name": {"ok", "server-a"}, "kubernetes.default": {"ok", "resolves"},
		"deny drops": {"ok", tTarget}, "under default deny": {"ok", "resolves"},
		"ingress": {"ok", ingress}, "cleanup": {"ok", "deleted namespace kprov-probe-"},
	}
}

// probeNamespaces are the namespaces labelled as the probe's that are
// not being deleted.
func probeNamespaces(t *testing.T, cs kubernetes.Interface) []string {
	t.Helper()
	list, err := cs.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: ProbeLabel})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ns := range list.Items {
		if ns.DeletionTimestamp == nil && ns.Status.Phase != corev1.NamespaceTerminating {
			out = append(out, ns.Name)
		}
	}
	return out
}

// probeFull runs the whole probe, global default deny and ingress
// included, and checks where the pods went and that nothing is left.
func probeFull(t *testing.T, cs kubernetes.Interface) {
	k := newKubelet(t, cs)
	stop := k.start(context.Background())
	defer stop()
	addr := ingressStandIn(t)
	p := Probe{MTU: 1480, DNSDomain: "cluster.local", GlobalDeny: true, Ingress: &ProbeIngress{Address: addr, Class: "traefik", TrafficPolicy: "Local"}, Timeout: time.Minute}
	checks := testProber(cs, k).Run(context.Background(), p)
	expectMarks(t, checks, allOK("the controller saw 127.0.0.1, this end of the connection"))
	expectMarks(t, checks, map[string][2]string{"cleanup": {"ok", "namespace kprov-probe-deny-"}})
	k.mu.Lock()
	defer k.mu.Unlock()
	want := map[string]string{serverA: "worker-1", serverB: "worker-2", probeClient: "worker-1", "target": "worker-2"}
	for pod, node := range want {
		if k.nodes[pod] != node {
			t.Errorf("pod %s on %q, want %s", pod, k.nodes[pod], node)
		}
	}
	if left := probeNamespaces(t, cs); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
}

func TestProbeFake(t *testing.T) {
	cs := fake.NewClientset(controlPlaneNode(), readyNode("worker-2"), readyNode("worker-1"))
	probeFull(t, cs)
}

// TestProbeAPIServer runs the probe against a real kube-apiserver, which
// validates every object it creates (pods, Service, NetworkPolicy,
// Ingress) and allocates the Service's address.
func TestProbeAPIServer(t *testing.T) {
	for _, v := range []string{"v1.21.14", "v1.37.2"} {
		t.Run(v, func(t *testing.T) {
			api := judge.StartAPIServer(t, v)
			cfg := api.RESTConfig(t)
			cfg.QPS, cfg.Burst = 200, 400
			cs, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for _, n := range []*corev1.Node{controlPlaneNode(), readyNode("worker-2"), readyNode("worker-1")} {
				st := n.Status
				made, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
				if err != nil {
					t.Fatal(err)
				}
				made.Status = st
				if made, err = cs.CoreV1().Nodes().UpdateStatus(ctx, made, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
				// The API server taints a new node not-ready (admission
				// TaintNodesByCondition); the node lifecycle controller
				// would lift it once the node is Ready.
				made.Spec.Taints = slices.DeleteFunc(made.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady })
				if _, err := cs.CoreV1().Nodes().Update(ctx, made, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			probeFull(t, cs)
		})
	}
}

func TestProbeOneNodeNamespaceDeny(t *testing.T) {
	apps := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps"}}
	cs := fake.NewClientset(controlPlaneNode(), readyNode("worker-1"), apps)
	k := newKubelet(t, cs)
	defer k.start(context.Background())()
	checks := testProber(cs, k).Run(context.Background(), Probe{MTU: 1480, DNSDomain: "cluster.local", DenyNamespace: "apps"})
	want := allOK("")
	want["path MTU"] = [2]string{"skip", "skipped: one schedulable node"}
	want["pod to pod"] = [2]string{"skip", "skipped: one schedulable node"}
	want["ingress"] = [2]string{"skip", "no ingress addresses"}
	want["cleanup"] = [2]string{"ok", "pod apps/kprov-probe-target-"}
	expectMarks(t, checks, want)
	pods, _ := cs.CoreV1().Pods("apps").List(context.Background(), metav1.ListOptions{})
	if len(pods.Items) != 0 {
		t.Errorf("pods left in apps: %d", len(pods.Items))
	}
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "apps", metav1.GetOptions{}); err != nil {
		t.Errorf("namespace apps: %v (the probe must not delete it)", err)
	}
}

// TestProbeTimeout: a client that never finishes fails its checks with
// the timeout, and the cleanup still runs.
func TestProbeTimeout(t *testing.T) {
	cs := fake.NewClientset(readyNode("worker-1"), readyNode("worker-2"))
	k := newKubelet(t, cs)
	k.hold = true
	defer k.start(context.Background())()
	start := time.Now()
	checks := testProber(cs, k).Run(context.Background(), Probe{MTU: 1480, DNSDomain: "cluster.local", GlobalDeny: true, Timeout: 2 * time.Second})
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s with a 2 s timeout", d)
	}
	expectMarks(t, checks, map[string][2]string{
		"eth0 MTU":           {"FAIL", "no result: pod kprov-probe-"},
		"path MTU":           {"FAIL", "no result (see above)"},
		"under default deny": {"ok", "resolves"},
		"cleanup":            {"ok", "deleted namespace"},
	})
	if !strings.Contains(checks[0].Detail, "timed out after 2s (--probe-timeout)") {
		t.Errorf("first missing check: %q", checks[0].Detail)
	}
	if left := probeNamespaces(t, cs); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
}

// TestProbeInterrupted: Ctrl-C while the client runs still deletes the
// namespaces, with a context of the cleanup's own.
func TestProbeInterrupted(t *testing.T) {
	cs := fake.NewClientset(readyNode("worker-1"), readyNode("worker-2"))
	k := newKubelet(t, cs)
	k.hold = true
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k.onClient = cancel
	defer k.start(context.Background())()
	checks := testProber(cs, k).Run(ctx, Probe{MTU: 1480, DNSDomain: "cluster.local", GlobalDeny: true})
	expectMarks(t, checks, map[string][2]string{
		"eth0 MTU": {"FAIL", "no result: interrupted"},
		"cleanup":  {"ok", "deleted namespace kprov-probe-"},
	})
	if left := probeNamespaces(t, cs); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
	// Interrupted before it began: nothing created.
	checks = testProber(cs, k).Run(ctx, Probe{MTU: 1480})
	expectMarks(t, checks, map[string][2]string{"eth0 MTU": {"FAIL", "no result: interrupted"}, "cleanup": {"ok", "nothing was created"}})
}

// TestProbeImagePull: an image the nodes cannot pull ends the wait at
// once, saying which image.
func TestProbeImagePull(t *testing.T) {
	cs := fake.NewClientset(readyNode("worker-1"), readyNode("worker-2"))
	k := newKubelet(t, cs)
	k.pullFail = true
	defer k.start(context.Background())()
	start := time.Now()
	checks := testProber(cs, k).Run(context.Background(), Probe{MTU: 1480, DNSDomain: "cluster.local", Timeout: time.Minute})
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s: an unpullable image should end the wait", d)
	}
	expectMarks(t, checks, map[string][2]string{
		"eth0 MTU": {"FAIL", "/server-b: ImagePullBackOff: Back-off pulling image " + ProbeImage},
		"cleanup":  {"ok", "deleted namespace"},
	})
}

// TestProbeCleanupFails: what cleanup could not delete is printed with
// the command that deletes it.
func TestProbeCleanupFails(t *testing.T) {
	cs := fake.NewClientset(readyNode("worker-1"), readyNode("worker-2"))
	deletes := 0
	cs.PrependReactor("delete", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
		deletes++
		return true, nil, apierrors.NewInternalError(errors.New("etcdserver: request timed out"))
	})
	k := newKubelet(t, cs)
	defer k.start(context.Background())()
	checks := testProber(cs, k).Run(context.Background(), Probe{MTU: 1480, DNSDomain: "cluster.local"})
	expectMarks(t, checks, map[string][2]string{
		"eth0 MTU": {"ok", "1480"},
		"cleanup":  {"FAIL", "left namespace kprov-probe-"},
	})
	last := checks[len(checks)-1].Detail
	if !strings.Contains(last, "etcdserver: request timed out") || !strings.Contains(last, "kubectl delete namespace kprov-probe-") {
		t.Errorf("cleanup detail %q", last)
	}
	if deletes != 3 {
		t.Errorf("%d delete attempts, want 3", deletes)
	}
}

func TestProbeNoNode(t *testing.T) {
	cs := fake.NewClientset(controlPlaneNode())
	checks := (&Prober{Client: cs}).Run(context.Background(), Probe{MTU: 1480})
	expectMarks(t, checks, map[string][2]string{
		"eth0 MTU": {"FAIL", "no Ready node without a NoSchedule or NoExecute taint"},
		"cleanup":  {"ok", "nothing was created"},
	})
}

// TestIngressCheck: the client address check against a loopback stand-in.
func TestIngressCheck(t *testing.T) {
	addr := ingressStandIn(t)
	pr := &Prober{Poll: 10 * time.Millisecond, IngressWait: 5 * time.Second}
	ctx := context.Background()
	if c := pr.ingressCheck(ctx, ProbeIngress{Address: addr, TrafficPolicy: "Local"}); !c.OK || c.Skipped {
		t.Errorf("Local: %+v", c)
	}
	// A controller that saw another address.
	nat := func(name string, policy string) Check {
		local := &net.TCPAddr{IP: net.ParseIP("192.168.122.1"), Port: 50000}
		return compareClient(name, "10.17.0.11", local, policy)
	}
	if c := nat("x", "Local"); c.OK || !strings.Contains(c.Detail, "should keep the client's address") {
		t.Errorf("NAT with Local: %+v", c)
	}
	if c := nat("x", "Cluster"); !c.OK || !strings.Contains(c.Detail, "externalTrafficPolicy Cluster") {
		t.Errorf("NAT with Cluster: %+v", c)
	}
	if c := compareClient("x", "", &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}, "Local"); c.OK {
		t.Errorf("no header: %+v", c)
	}
	// Nothing listening: refused is an answer, not unreachable.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	pr.IngressWait = 300 * time.Millisecond
	if c := pr.ingressCheck(ctx, ProbeIngress{Address: closed}); c.OK || c.Skipped || !strings.Contains(c.Detail, "refused") {
		t.Errorf("refused: %+v", c)
	}
	// A dial that times out: skipped, saying why.
	pr.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: timeoutError{}}
	}
	if c := pr.ingressCheck(ctx, ProbeIngress{Address: "10.17.0.200"}); !c.Skipped || !strings.Contains(c.Detail, "10.17.0.200:80 cannot be reached from here") {
		t.Errorf("timeout: %+v", c)
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

var _ net.Error = timeoutError{}

// TestProbeNoServiceAccount: without kube-controller-manager a new
// namespace gets no default ServiceAccount and no pod: the probe says so.
func TestProbeNoServiceAccount(t *testing.T) {
	cs := fake.NewClientset(readyNode("worker-1"))
	checks := (&Prober{Client: cs, Poll: 20 * time.Millisecond}).Run(context.Background(), Probe{MTU: 1480, Timeout: 300 * time.Millisecond})
	expectMarks(t, checks, map[string][2]string{
		"eth0 MTU": {"FAIL", "has no default ServiceAccount"},
		"cleanup":  {"ok", "deleted namespace kprov-probe-"},
	})
}

// TestProbeTargetRefused: a namespace that refuses the target fails the
// deny checks only.
func TestProbeTargetRefused(t *testing.T) {
	cs := fake.NewClientset(readyNode("worker-1"), readyNode("worker-2"))
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetNamespace() != "apps" {
			return false, nil, nil
		}
		return true, nil, apierrors.NewForbidden(corev1.Resource("pods"), "kprov-probe-target", errors.New(`violates PodSecurity "restricted:latest"`))
	})
	k := newKubelet(t, cs)
	defer k.start(context.Background())()
	checks := testProber(cs, k).Run(context.Background(), Probe{MTU: 1480, DNSDomain: "cluster.local", DenyNamespace: "apps"})
	want := allOK("")
	want["deny drops"] = [2]string{"FAIL", `violates PodSecurity "restricted:latest"`}
	want["under default deny"] = [2]string{"FAIL", "no result: create pod apps/kprov-probe-target-"}
	want["ingress"] = [2]string{"skip", "no ingress addresses"}
	expectMarks(t, checks, want)
}
