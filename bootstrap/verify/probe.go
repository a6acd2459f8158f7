package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/provision/spec"
)

// DefaultProbeTimeout bounds a probe's wait for its pods and checks.
const DefaultProbeTimeout = 5 * time.Minute

// Probe is what the probe checks with packets, read from the spec.
type Probe struct {
	// MTU is the pod MTU.
	MTU       int
	DNSDomain string
	// GlobalDeny puts the default-deny target in a fresh namespace;
	// otherwise DenyNamespace, when set, holds it.
	GlobalDeny    bool
	DenyNamespace string
	// Ingress is reached from where kprov runs; nil skips that check.
	Ingress *ProbeIngress
	// Timeout bounds the wait for pods and checks (DefaultProbeTimeout
	// when zero); cleanup has its own bound.
	Timeout time.Duration
}

// ProbeIngress is the ingress controller's address and class.
type ProbeIngress struct {
	// Address is host or host:port (port 80 when none).
	Address string
	// Class is the IngressClass; "" means the cluster's default class.
	Class string
	// TrafficPolicy is the controller Service's externalTrafficPolicy:
	// only Local promises to keep the client's address.
	TrafficPolicy string
}

// ProbeOf reads a normalized spec.
func ProbeOf(c *spec.Cluster, timeout time.Duration) Probe {
	p := Probe{MTU: addons.CalicoOf(c).MTU, DNSDomain: c.Network.DNSDomain, Timeout: timeout}
	pol := addons.PolicyOf(c)
	p.GlobalDeny = pol.Global
	if len(pol.Namespaces) > 0 {
		p.DenyNamespace = pol.Namespaces[0]
	}
	if in := c.Ingress; in != nil && len(in.Addresses) > 0 {
		p.Ingress = &ProbeIngress{Address: in.Addresses[0], TrafficPolicy: in.ExternalTrafficPolicy}
		if in.Controller == spec.ControllerTraefik {
			p.Ingress.Class = addons.TraefikClass
		}
	}
	return p
}

// Prober proves a cluster's networking with packets: short-lived pods in
// a namespace of their own (kprov-probe-XXXXX) run the checks and print
// their results, which the Prober reads from the pods' logs. It deletes
// what it created, even when interrupted.
type Prober struct {
	Client kubernetes.Interface
	// Logs reads a probe pod's log; nil reads it through the API server.
	Logs func(ctx context.Context, namespace, pod string) (string, error)
	// Dial connects to the ingress from where kprov runs; nil dials
	// directly.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Progress, when set, gets a line per stage (stderr).
	Progress io.Writer
	// Poll is how often pods are looked at (2 s when zero); IngressWait
	// bounds the wait for the ingress controller to route the probe's
	// Ingress (60 s); CleanupTimeout bounds the cleanup (90 s).
	Poll, IngressWait, CleanupTimeout time.Duration
	// WarmTries bounds the client's wait, a second per try, for its own
	// network to work before it measures (30 when zero).
	WarmTries int
}

// probeRun is one run of the probe.
type probeRun struct {
	*Prober
	p       Probe
	suffix  string
	ns      string
	results map[string]Check
	skipped map[string]string
	created []created
}

// created is an object the cleanup deletes: a namespace, or a pod in a
// namespace kprov does not own.
type created struct{ kind, namespace, name string }

func (c created) String() string {
	if c.namespace == "" {
		return c.kind + " " + c.name
	}
	return c.kind + " " + c.namespace + "/" + c.name
}

// Run runs the probe and returns a check per result (skipped when the
// cluster or the spec leaves nothing to check) and one for the cleanup.
func (pr *Prober) Run(ctx context.Context, p Probe) []Check {
	r := &probeRun{Prober: pr, p: p, suffix: randomSuffix(), results: map[string]Check{}, skipped: map[string]string{}}
	r.ns = "kprov-probe-" + r.suffix
	why := "interrupted"
	if ctx.Err() == nil {
		timeout := p.Timeout
		if timeout <= 0 {
			timeout = DefaultProbeTimeout
		}
		runCtx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("timed out after %s (--probe-timeout)", timeout))
		err := r.do(runCtx)
		cancel()
		switch {
		case ctx.Err() != nil:
		case err != nil:
			why = err.Error()
		default:
			why = ""
		}
	}
	return append(r.checks(why), r.cleanup(ctx))
}

// checks lists every check in order: its result, or skipped, or failed
// with why (once; later missing ones point to it).
func (r *probeRun) checks(why string) []Check {
	var out []Check
	said := false
	for _, c := range probeOrder() {
		if reason, ok := r.skipped[c]; ok {
			out = append(out, Skip(probeName(c), "%s", reason))
			continue
		}
		if res, ok := r.results[c]; ok {
			out = append(out, res)
			continue
		}
		switch {
		case why == "":
			out = append(out, fail(probeName(c), "no result: the probe did not report it"))
		case said:
			out = append(out, fail(probeName(c), "no result (see above)"))
		default:
			out = append(out, fail(probeName(c), "no result: %s", why))
			said = true
		}
	}
	return out
}

func (r *probeRun) progress(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, "probe: "+format+"\n", args...)
	}
}

func (r *probeRun) skip(reason string, checks ...string) {
	for _, c := range checks {
		r.skipped[c] = reason
	}
}

// do creates the probe's objects, waits for their results and checks
// the ingress. An error leaves the checks without a result.
func (r *probeRun) do(ctx context.Context) error {
	core := r.Client.CoreV1()
	nodes, err := core.Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("list nodes: %w", r.cause(ctx, err))
	}
	picked := pickNodes(nodes.Items)
	if len(picked) == 0 {
		return errors.New("no Ready node without a NoSchedule or NoExecute taint to run the probe's pods on")
	}
	nodeA, nodeB := picked[0], picked[0]
	if len(picked) == 2 {
		nodeB = picked[1]
		r.progress("pods in namespace %s on nodes %s and %s", r.ns, nodeA, nodeB)
	} else {
		r.skip("skipped: one schedulable node", checkPathMTU, checkPodToPod)
		r.progress("pods in namespace %s on node %s (the only schedulable one)", r.ns, nodeA)
	}
	if _, err := core.Namespaces().Create(ctx, probeNamespace(r.ns), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", r.ns, r.cause(ctx, err))
	}
	r.created = append(r.created, created{kind: "namespace", name: r.ns})
	if _, err := r.Client.NetworkingV1().NetworkPolicies(r.ns).Create(ctx, allowAll(r.ns), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create NetworkPolicy in %s: %w", r.ns, r.cause(ctx, err))
	}
	if err := r.waitServiceAccount(ctx, r.ns); err != nil {
		return err
	}
	target, err := r.createTarget(ctx, nodeB)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		r.results[checkDeny] = fail(probeName(checkDeny), "no result: %v", err)
		r.results[checkDenyDNS] = fail(probeName(checkDenyDNS), "no result: %v", err)
	}
	servers := []string{serverA}
	if nodeB != nodeA {
		servers = append(servers, serverB)
	}
	for i, name := range servers {
		if _, err := core.Pods(r.ns).Create(ctx, serverPod(r.ns, name, picked[i]), metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create pod %s/%s: %w", r.ns, name, r.cause(ctx, err))
		}
	}
	svc, err := core.Services(r.ns).Create(ctx, probeServiceOf(r.ns), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create Service %s/%s: %w", r.ns, probeService, r.cause(ctx, err))
	}
	ingressClass := r.createIngress(ctx)

	ips := map[string]string{}
	for _, name := range servers {
		pod, err := r.waitPod(ctx, r.ns, name, "Ready", func(p *corev1.Pod) (bool, error) { return podReady(p), nil })
		if err != nil {
			return err
		}
		ips[name] = pod.Status.PodIP
	}
	svcIP, err := r.waitClusterIP(ctx, svc)
	if err != nil {
		return err
	}
	targetIP := r.waitTarget(ctx, target)

	s := clientScript{
		MTU: r.p.MTU, MTUFile: "/sys/class/net/eth0/mtu", Peer: ips[serverB], Warm: ips[servers[len(servers)-1]],
		ServiceIP: svcIP, Servers: servers,
		ServiceName: probeService + "." + r.ns + ".svc." + r.p.DNSDomain,
		APIName:     "kubernetes.default.svc." + r.p.DNSDomain,
		Target:      targetIP, WarmTries: r.WarmTries,
	}
	if s.WarmTries <= 0 {
		s.WarmTries = 30
	}
	if _, err := core.Pods(r.ns).Create(ctx, scriptPod(r.ns, probeClient, roleClient, nodeA, s.Script()), metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pod %s/%s: %w", r.ns, probeClient, r.cause(ctx, err))
	}
	r.progress("waiting for the client pod's checks")
	clientErr := r.readClient(ctx)
	if ingressClass != "" {
		r.results[checkIngress] = r.ingressCheck(ctx, *r.p.Ingress)
	}
	return clientErr
}

// readClient waits for the client's end marker (or its end) and takes
// its results.
func (r *probeRun) readClient(ctx context.Context) error {
	var logs string
	pod, err := r.waitPod(ctx, r.ns, probeClient, "done", func(p *corev1.Pod) (bool, error) {
		if p.Status.Phase == corev1.PodPending {
			return false, nil
		}
		l, err := r.logs(ctx, p.Namespace, p.Name)
		if err != nil {
			if ended(p) {
				return false, fmt.Errorf("pod %s/%s ended; its log: %w", p.Namespace, p.Name, err)
			}
			return false, nil
		}
		logs = l
		_, end := parseResults(logs)
		return end || ended(p), nil
	})
	res, end := parseResults(logs)
	for c, v := range res {
		if c != checkIngress && c != checkDenyDNS {
			if _, skip := r.skipped[c]; !skip {
				r.results[c] = v.toCheck(c)
			}
		}
	}
	if err != nil {
		return err
	}
	if !end {
		return fmt.Errorf("the client pod ended (%s) before its last check: %s", podState(pod), lastLines(logs, 3))
	}
	return nil
}

// cause is err, or why ctx ended when it did.
func (r *probeRun) cause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}

// randomSuffix is 5 characters as Kubernetes' generated names have.
func randomSuffix() string {
	const alphabet = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	for i := range b {
		b[i] = alphabet[rand.IntN(len(alphabet))]
	}
	return string(b)
}
