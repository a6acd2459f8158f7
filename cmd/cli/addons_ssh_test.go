package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/bootstrap/kubeadm"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/state"
)

// TestAddonsOverSSH runs `kprov up --only addons` and `kprov verify`
// against a real kube-apiserver that only SSH reaches (testdata/ssh/addons):
// sshd and the API server share the node's network namespace, kprov runs
// in another one that holds the node's address with port 22 alone
// forwarded to the node, so the API server is reached through the SSH
// tunnel or not at all.
func TestAddonsOverSSH(t *testing.T) {
	runSSHScripts(t, "testdata/ssh/addons", map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"apiserver":    apiServerCmd,
		"controllers":  controllersCmd,
		"clientns":     clientNSCmd,
		"reach":        reachCmd,
		"forwarded":    forwardedCmd,
		"standins":     standInsCmd,
		"kubelets":     kubeletsCmd,
		"editenv":      editEnvCmd,
		"sentasrender": sentAsRenderCmd,
	})
}

// addonsState is what the commands of one script share.
type addonsState struct {
	api *judge.APIServer
	dyn dynamic.Interface
	fwd *forwarder
}

var addonsStates sync.Map // *testscript.TestScript -> *addonsState

func stateOf(ts *testscript.TestScript) *addonsState {
	s, loaded := addonsStates.LoadOrStore(ts, &addonsState{})
	if !loaded {
		ts.Defer(func() { addonsStates.Delete(ts) })
	}
	return s.(*addonsState)
}

// apiserver SPEC NODE VERSION starts the real kube-apiserver VERSION in
// $NETNS (made by sshnode), bound to NODE's planned address port 6443 as
// on a control plane, and writes its admin kubeconfig, server
// https://ADDRESS:6443, to the state folder as kubeadm/kubeconfig would.
// $APISERVER is ADDRESS:6443.
func apiServerCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: apiserver SPEC NODE VERSION")
	}
	s := loadSpec(ts, args[0])
	ip := nodeIP(ts, s, args[1])
	tb := ts.Value(scriptTB{}).(testing.TB)
	st := stateOf(ts)
	st.api = judge.StartAPIServerIn(tb, args[2], judge.Netns{Name: ts.Getenv("NETNS"), Addr: ip, Port: "6443"})
	// Before the namespace and the user go (sshnode's defers run after).
	ts.Defer(st.api.Stop)
	var err error
	st.dyn, err = dynamic.NewForConfig(st.api.RESTConfig(tb))
	ts.Check(err)
	kc, err := os.ReadFile(st.api.Kubeconfig)
	ts.Check(err)
	dir := filepath.Join(ts.Getenv("KPROV_STATE_DIR"), s.Cluster.Name)
	ts.Check(os.WriteFile(filepath.Join(dir, state.KubeconfigFile), kc, 0o600))
	ts.Setenv("APISERVER", net.JoinHostPort(ip, "6443"))
}

func apiOf(ts *testscript.TestScript) *addonsState {
	st := stateOf(ts)
	if st.api == nil {
		ts.Fatalf("no API server: run apiserver first")
	}
	return st
}

// controllers marks every DaemonSet and Deployment rolled out, as a
// cluster's controllers and kubelets would, until the script ends.
func controllersCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 0 {
		ts.Fatalf("usage: controllers")
	}
	ts.Defer(judge.Controllers(apiOf(ts).dyn))
}

// clientns SPEC NODE makes $CLIENTNS, where kprov runs: NODE's planned
// address on its loopback, port 22 there forwarded to NODE's sshd in
// $NETNS, and nothing else. $SSHADDR is ADDRESS:22.
func clientNSCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: clientns SPEC NODE")
	}
	ip := nodeIP(ts, loadSpec(ts, args[0]), args[1])
	ns, nodeNS := ts.Getenv("CLIENTNS"), ts.Getenv("NETNS")
	run := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			ts.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", ns)
	ts.Defer(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run("-n", ns, "link", "set", "lo", "up")
	run("-n", ns, "addr", "add", ip+"/32", "dev", "lo")
	addr := net.JoinHostPort(ip, "22")
	l, err := judge.ListenIn(ns, "tcp", addr)
	ts.Check(err)
	f := &forwarder{l: l, conns: map[net.Conn]bool{}}
	go f.serve(func(ctx context.Context) (net.Conn, error) { return judge.DialIn(ctx, nodeNS, "tcp", addr) })
	ts.Defer(f.close)
	stateOf(ts).fwd = f
	ts.Setenv("SSHADDR", addr)
}

// forwarder copies each connection it accepts to one it dials, counting
// connections and bytes.
type forwarder struct {
	l            net.Listener
	mu           sync.Mutex
	conns        map[net.Conn]bool
	wg           sync.WaitGroup
	accepted     atomic.Int64
	bytes        atomic.Int64
	lastAccepted int64
	lastBytes    int64
}

func (f *forwarder) serve(dial func(context.Context) (net.Conn, error)) {
	for i := 0; i < 1000; i++ { // kprov opens one connection per run
		c, err := f.l.Accept()
		if err != nil {
			return
		}
		f.accepted.Add(1)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		up, err := dial(ctx)
		cancel()
		if err != nil || !f.track(c, up) {
			c.Close()
			if up != nil {
				up.Close()
			}
			continue
		}
		for _, p := range [][2]net.Conn{{up, c}, {c, up}} {
			f.wg.Add(1)
			go func(dst, src net.Conn) {
				defer f.wg.Done()
				n, _ := io.Copy(dst, src)
				f.bytes.Add(n)
				// Either side's end ends both.
				dst.Close()
				src.Close()
			}(p[0], p[1])
		}
	}
}

// track records a pair of connections, or refuses them once closed.
func (f *forwarder) track(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		return false
	}
	for _, c := range cs {
		f.conns[c] = true
	}
	return true
}

// close stops listening, ends every connection and waits (at most 10 s)
// for the copies.
func (f *forwarder) close() {
	f.l.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// forwarded prints how many connections and bytes the SSH forwarder of
// clientns carried since the last forwarded: connections=N bytes=B.
func forwardedCmd(ts *testscript.TestScript, neg bool, args []string) {
	f := stateOf(ts).fwd
	if neg || len(args) != 0 || f == nil {
		ts.Fatalf("usage: forwarded (after clientns)")
	}
	a, b := f.accepted.Load(), f.bytes.Load()
	fmt.Fprintf(ts.Stdout(), "connections=%d bytes=%d\n", a-f.lastAccepted, b-f.lastBytes)
	f.lastAccepted, f.lastBytes = a, b
}

// reach NETNS ADDR:PORT opens a TCP connection from inside NETNS (5 s at
// most); with !, it must fail.
func reachCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: [!] reach NETNS ADDR:PORT")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := judge.DialIn(ctx, args[0], "tcp", args[1])
	switch {
	case err == nil && neg:
		c.Close()
		ts.Fatalf("%s reached %s", args[0], args[1])
	case err == nil:
		c.Close()
	case !neg:
		ts.Fatalf("%s cannot reach %s: %v", args[0], args[1], err)
	default:
		ts.Logf("%s cannot reach %s: %v", args[0], args[1], err)
	}
}

var (
	configMaps = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	ipPools    = schema.GroupVersionResource{Group: "crd.projectcalico.org", Version: "v1", Resource: "ippools"}
	daemonSets = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
)

// standins SPEC creates what a running cluster of SPEC makes on its own:
// kube-proxy's ConfigMap (kubeadm init, from kprov's configuration) and
// the IP pool calico-node creates on first start from its environment.
func standInsCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: standins SPEC")
	}
	c := loadSpec(ts, args[0]).Cluster
	dyn := apiOf(ts).dyn
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	proxy, err := kubeadm.KubeProxyConfig(c)
	ts.Check(err)
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "kube-proxy", "namespace": "kube-system"},
		"data":     map[string]any{"config.conf": string(proxy)},
	}}
	_, err = dyn.Resource(configMaps).Namespace("kube-system").Create(ctx, cm, metav1.CreateOptions{})
	ts.Check(err)
	ca := addons.CalicoOf(c)
	ipip, vxlan := "Never", "Never"
	switch ca.Encapsulation {
	case "ipip":
		ipip = "Always"
	case "vxlan":
		vxlan = "Always"
	}
	pool := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "crd.projectcalico.org/v1", "kind": "IPPool",
		"metadata": map[string]any{"name": "default-ipv4-ippool"},
		"spec":     map[string]any{"cidr": ca.PoolCIDR, "ipipMode": ipip, "vxlanMode": vxlan, "natOutgoing": true},
	}}
	_, err = dyn.Resource(ipPools).Create(ctx, pool, metav1.CreateOptions{})
	ts.Check(err)
}

// kubelets SPEC registers every node SPEC plans as Ready, as their kubelets
// would once the CNI runs.
func kubeletsCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: kubelets SPEC")
	}
	s := loadSpec(ts, args[0])
	nodes, err := plan.Nodes(s.Cluster)
	ts.Check(err)
	dyn := apiOf(ts).dyn
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
	for _, n := range nodes {
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{"name": n.Name},
		}}
		made, err := dyn.Resource(res).Create(ctx, obj, metav1.CreateOptions{})
		ts.Check(err)
		made.Object["status"] = map[string]any{"conditions": []any{map[string]any{
			"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status",
			"lastHeartbeatTime": "2026-01-01T00:00:00Z", "lastTransitionTime": "2026-01-01T00:00:00Z",
		}}}
		_, err = dyn.Resource(res).UpdateStatus(ctx, made, metav1.UpdateOptions{})
		ts.Check(err)
	}
}

// editenv NAMESPACE/DAEMONSET NAME VALUE sets the environment variable
// NAME of the DaemonSet's first container, as a hand edit (field manager
// kubectl-edit) would.
func editEnvCmd(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: editenv NAMESPACE/DAEMONSET NAME VALUE")
	}
	ns, name, ok := strings.Cut(args[0], "/")
	if !ok {
		ts.Fatalf("editenv: %s is not NAMESPACE/DAEMONSET", args[0])
	}
	dyn := apiOf(ts).dyn
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ds, err := dyn.Resource(daemonSets).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	ts.Check(err)
	cs, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
	if len(cs) == 0 {
		ts.Fatalf("%s has no containers", args[0])
	}
	env, _ := cs[0].(map[string]any)["env"].([]any)
	i := -1
	for j, e := range env {
		if m, _ := e.(map[string]any); m["name"] == args[1] {
			i = j
		}
	}
	if i < 0 {
		ts.Fatalf("%s has no env %s", args[0], args[1])
	}
	patch, err := json.Marshal([]map[string]any{{"op": "replace", "path": fmt.Sprintf("/spec/template/spec/containers/0/env/%d/value", i), "value": args[2]}})
	ts.Check(err)
	_, err = dyn.Resource(daemonSets).Namespace(ns).Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{FieldManager: "kubectl-edit"})
	ts.Check(err)
}
