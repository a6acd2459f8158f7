package verify

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kprov/kprov/provision/spec"
)

func node(name string, ready bool, change func(*corev1.Node)) corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	n := corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}},
		Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}},
	}
	if change != nil {
		change(&n)
	}
	return n
}

func controlPlane(n *corev1.Node) { n.Labels["node-role.kubernetes.io/control-plane"] = "" }

func taint(effect corev1.TaintEffect) func(*corev1.Node) {
	return func(n *corev1.Node) { n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "k", Effect: effect}) }
}

func TestPickNodes(t *testing.T) {
	tests := []struct {
		name  string
		nodes []corev1.Node
		want  []string
	}{
		{"workers first, by name", []corev1.Node{
			node("cp-1", true, controlPlane), node("worker-2", true, nil), node("worker-1", true, nil),
		}, []string{"worker-1", "worker-2"}},
		{"an untainted control plane when one worker", []corev1.Node{
			node("worker-1", true, nil), node("cp-1", true, controlPlane),
		}, []string{"worker-1", "cp-1"}},
		{"not Ready, cordoned, NoSchedule and NoExecute left out", []corev1.Node{
			node("a", false, nil),
			node("b", true, func(n *corev1.Node) { n.Spec.Unschedulable = true }),
			node("c", true, taint(corev1.TaintEffectNoSchedule)),
			node("d", true, taint(corev1.TaintEffectNoExecute)),
			node("e", true, taint(corev1.TaintEffectPreferNoSchedule)),
		}, []string{"e"}},
		{"no Ready condition", []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "x"}}}, nil},
		{"control plane with its taint", []corev1.Node{
			node("cp-1", true, func(n *corev1.Node) { controlPlane(n); taint(corev1.TaintEffectNoSchedule)(n) }),
		}, nil},
	}
	for _, tc := range tests {
		if got := pickNodes(tc.nodes); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParseResults(t *testing.T) {
	logs := "noise\r\nKPROV-PROBE eth0-mtu ok eth0 MTU 1480\r\n" +
		"KPROV-PROBE service fail 10.96.0.50:8080: curl: (7) Failed to connect\n" +
		"KPROV-PROBE service ok a second line for a check does not count\n" +
		"KPROV-PROBE dns-api maybe\n" +
		"KPROV-PROBE lonely\n" +
		"KPROV-PROBEX pod-to-pod ok\n" +
		"  KPROV-PROBE deny ok not at the start of the line\n"
	res, end := parseResults(logs)
	if end {
		t.Error("end marker found where there is none")
	}
	want := map[string]result{
		"eth0-mtu": {"ok", "eth0 MTU 1480"},
		"service":  {"fail", "10.96.0.50:8080: curl: (7) Failed to connect"},
		"dns-api":  {"maybe", ""},
	}
	if len(res) != len(want) {
		t.Errorf("results %v, want %v", res, want)
	}
	for k, v := range want {
		if res[k] != v {
			t.Errorf("%s: %v, want %v", k, res[k], v)
		}
	}
	if _, end := parseResults(logs + endMarker + "\n"); !end {
		t.Error("end marker not found")
	}
	if c := res["dns-api"].toCheck("dns-api"); c.OK || !strings.Contains(c.Detail, `unknown result "maybe"`) {
		t.Errorf("unknown status: %+v", c)
	}
	long := result{"ok", strings.Repeat("x", 1000)}.toCheck("service")
	if !long.OK || len(long.Detail) > maxDetail+3 {
		t.Errorf("long detail kept: %d bytes", len(long.Detail))
	}
}

// TestChecks: every check is printed in order; a missing one fails with
// the reason once, a skipped one is skipped.
func TestChecks(t *testing.T) {
	r := &probeRun{results: map[string]Check{}, skipped: map[string]string{}}
	r.results[checkEth0MTU] = result{"ok", "eth0 MTU 1480"}.toCheck(checkEth0MTU)
	r.skip("skipped: one schedulable node", checkPathMTU, checkPodToPod)
	r.skip("skipped: the spec has no ingress addresses", checkIngress)
	checks := r.checks("timed out after 5m0s (--probe-timeout)")
	if len(checks) != len(probeOrder()) {
		t.Fatalf("%d checks, want %d", len(checks), len(probeOrder()))
	}
	var b strings.Builder
	failed := Print(&b, checks)
	t.Log("\n" + b.String())
	if failed != 5 {
		t.Errorf("%d failed, want 5 (skips are not failures)", failed)
	}
	got := strings.Join(strings.Fields(b.String()), " ")
	for _, want := range []string{
		"ok probe pod eth0 MTU eth0 MTU 1480",
		"skip probe pod path MTU across nodes skipped: one schedulable node",
		"skip probe pod to pod across nodes skipped: one schedulable node",
		"FAIL probe Service through kube-proxy no result: timed out after 5m0s (--probe-timeout)",
		"FAIL probe DNS name of a Service no result (see above)",
		"skip probe ingress client address skipped: the spec has no ingress addresses",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q", want)
		}
	}
	// Finished without a reason: a check the script never printed.
	for _, c := range r.checks("") {
		if !c.OK && !c.Skipped && c.Detail != "no result: the probe did not report it" {
			t.Errorf("%s: %q", c.Name, c.Detail)
		}
	}
}

func TestPrintSkipped(t *testing.T) {
	var b strings.Builder
	failed := Print(&b, []Check{
		pass("a", "fine"),
		Skip("b", "skipped: %s", "one schedulable node"),
		fail("c", "broken"),
		{Name: "d", OK: true, Skipped: true, Detail: "skipped wins over ok"},
	})
	want := "ok   a                                        fine\n" +
		"skip b                                        skipped: one schedulable node\n" +
		"FAIL c                                        broken\n" +
		"skip d                                        skipped wins over ok\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	if failed != 1 {
		t.Errorf("%d failed, want 1", failed)
	}
}

func TestProbeOf(t *testing.T) {
	c := &spec.Cluster{
		Network: &spec.Network{DNSDomain: "lab.example"},
		Calico:  &spec.Calico{PodMTU: 1430},
		Ingress: &spec.Ingress{Controller: spec.ControllerTraefik, Addresses: []string{"10.17.0.200", "10.17.0.201"}, ExternalTrafficPolicy: "Local"},
		NetworkPolicy: &spec.NetworkPolicy{
			DefaultDenyNamespaces: []string{"apps", "web"},
		},
	}
	p := ProbeOf(c, 0)
	if p.MTU != 1430 || p.DNSDomain != "lab.example" || p.GlobalDeny || p.DenyNamespace != "apps" {
		t.Errorf("%+v", p)
	}
	if p.Ingress == nil || *p.Ingress != (ProbeIngress{Address: "10.17.0.200", Class: "traefik", TrafficPolicy: "Local"}) {
		t.Errorf("ingress %+v", p.Ingress)
	}
	c.Ingress.Controller = spec.ControllerManifest
	c.NetworkPolicy.GlobalDefaultDeny = true
	p = ProbeOf(c, 0)
	if p.Ingress.Class != "" || !p.GlobalDeny {
		t.Errorf("manifest controller, global deny: %+v %+v", p, p.Ingress)
	}
	c.Ingress.Addresses = nil
	c.NetworkPolicy = nil
	if p = ProbeOf(c, 0); p.Ingress != nil || p.GlobalDeny || p.DenyNamespace != "" {
		t.Errorf("no addresses, no policy: %+v", p)
	}
}
