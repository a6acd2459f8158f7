package judge

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// The releases the API server judge is tested with: the oldest and the
// newest kprov supports.
var apiServerVersions = []string{"v1.21.14", "v1.37.2"}

// The judge starts a real API server that stores and serves a ConfigMap,
// reports its own release, and is gone, etcd with it, after Stop.
func TestAPIServer(t *testing.T) {
	for _, v := range apiServerVersions {
		t.Run(v, func(t *testing.T) {
			a := StartAPIServer(t, v)
			if fi, err := os.Stat(a.Kubeconfig); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("kubeconfig %s: %v, mode %v; want mode 0600", a.Kubeconfig, err, fi.Mode().Perm())
			}
			cs, err := kubernetes.NewForConfig(a.RESTConfig(t))
			if err != nil {
				t.Fatal(err)
			}
			ctx := bounded(t)

			sv, err := cs.Discovery().ServerVersion()
			if err != nil {
				t.Fatal(err)
			}
			if sv.GitVersion != v {
				t.Errorf("server version %q, want %q", sv.GitVersion, v)
			}

			want := map[string]string{"judge": "kprov", "version": v}
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: "kprov-judge", Namespace: "default"},
				Data:       want,
			}
			if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatalf("create ConfigMap: %v", err)
			}
			got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "kprov-judge", metav1.GetOptions{})
			if err != nil {
				t.Fatalf("get ConfigMap: %v", err)
			}
			if len(got.Data) != len(want) || got.Data["judge"] != "kprov" || got.Data["version"] != v || got.UID == "" {
				t.Errorf("ConfigMap read back: uid %q, data %v; want data %v", got.UID, got.Data, want)
			}

			// Server-side apply types fields by the served OpenAPI
			// definitions, which build.sh generates for 1.21.
			raw, err := cs.Discovery().RESTClient().Get().AbsPath("/openapi/v2").DoRaw(ctx)
			if err != nil {
				t.Fatalf("GET /openapi/v2: %v", err)
			}
			var doc struct {
				Definitions map[string]json.RawMessage `json:"definitions"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatalf("/openapi/v2: %v", err)
			}
			if _, ok := doc.Definitions["io.k8s.api.core.v1.ConfigMap"]; !ok || len(doc.Definitions) < 100 {
				t.Errorf("/openapi/v2 has %d definitions, ConfigMap's: %v", len(doc.Definitions), ok)
			}
			applied, err := cs.CoreV1().ConfigMaps("default").Apply(ctx,
				corev1ac.ConfigMap("kprov-judge", "default").WithData(map[string]string{"applied": "yes"}),
				metav1.ApplyOptions{FieldManager: "kprov-judge", Force: true})
			if err != nil {
				t.Fatalf("server-side apply: %v", err)
			}
			managers := map[string]metav1.ManagedFieldsOperationType{}
			for _, m := range applied.ManagedFields {
				managers[m.Manager] = m.Operation
			}
			if applied.Data["applied"] != "yes" || applied.Data["judge"] != "kprov" || managers["kprov-judge"] != metav1.ManagedFieldsOperationApply {
				t.Errorf("server-side apply: data %v, managers %v", applied.Data, managers)
			}

			api, etcd := a.PIDs()
			if api == 0 || etcd == 0 || !alive(api) || !alive(etcd) {
				t.Fatalf("before Stop: kube-apiserver pid %d alive %v, etcd pid %d alive %v", api, alive(api), etcd, alive(etcd))
			}
			start := time.Now()
			a.Stop()
			t.Logf("stopped in %s", time.Since(start).Round(time.Millisecond))
			a.Stop() // idempotent: the cleanup calls it again
			for name, pid := range map[string]int{"kube-apiserver": api, "etcd": etcd} {
				if alive(pid) {
					t.Errorf("%s pid %d still exists after Stop", name, pid)
				}
			}
			if _, err := cs.Discovery().ServerVersion(); err == nil {
				t.Error("the API server still answers after Stop")
			}
		})
	}
}

// The judge can say no: a CustomResourceDefinition of
// apiextensions.k8s.io/v1beta1 is accepted by 1.21 and refused by 1.37,
// which no longer serves that version; the same CRD as v1 is accepted by
// both.
func TestAPIServerRefusesV1beta1CRD(t *testing.T) {
	v1beta1 := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1beta1", Resource: "customresourcedefinitions"}
	v1 := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, tc := range []struct {
		version string
		v1beta1 bool // accepted
	}{
		{"v1.21.14", true},
		{"v1.37.2", false},
	} {
		t.Run(tc.version, func(t *testing.T) {
			a := StartAPIServer(t, tc.version)
			cfg := a.RESTConfig(t)
			cfg.WarningHandler = warningLogger{t}
			dc, err := dynamic.NewForConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := bounded(t)

			_, err = dc.Resource(v1beta1).Create(ctx, widgetsV1beta1(), metav1.CreateOptions{})
			switch {
			case tc.v1beta1 && err != nil:
				t.Errorf("kube-apiserver %s refused an apiextensions.k8s.io/v1beta1 CRD: %v", tc.version, err)
			case !tc.v1beta1 && err == nil:
				t.Errorf("kube-apiserver %s accepted an apiextensions.k8s.io/v1beta1 CRD", tc.version)
			case !tc.v1beta1 && !apierrors.IsNotFound(err):
				t.Errorf("kube-apiserver %s refused the v1beta1 CRD, but not for want of the API version: %v", tc.version, err)
			case err != nil:
				t.Logf("kube-apiserver %s says no: %v", tc.version, err)
			}

			name := "gadgets.judge.kprov.test"
			if _, err := dc.Resource(v1).Create(ctx, gadgetsV1(name), metav1.CreateOptions{}); err != nil {
				t.Errorf("kube-apiserver %s refused an apiextensions.k8s.io/v1 CRD: %v", tc.version, err)
			}
			if _, err := dc.Resource(v1).Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Errorf("get the v1 CRD back: %v", err)
			}
		})
	}
}

func widgetsV1beta1() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1beta1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": "widgets.judge.kprov.test"},
		"spec": map[string]any{
			"group":   "judge.kprov.test",
			"version": "v1",
			"scope":   "Namespaced",
			"names": map[string]any{
				"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList",
			},
		},
	}}
}

func gadgetsV1(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1",
		"kind":       "CustomResourceDefinition",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"group": "judge.kprov.test",
			"scope": "Namespaced",
			"names": map[string]any{
				"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList",
			},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{
					"type": "object", "x-kubernetes-preserve-unknown-fields": true,
				}},
			}},
		},
	}}
}

// alive tells whether a process of that id exists (a reaped child does not).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// bounded is a context for a test's calls to the API server.
func bounded(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// warningLogger logs the API server's warnings (deprecated APIs) in the test.
type warningLogger struct{ t *testing.T }

func (w warningLogger) HandleWarningHeader(code int, agent, text string) {
	w.t.Logf("warning from the API server: %s", text)
}

var _ rest.WarningHandler = warningLogger{}

// In a network namespace the judge's API server is bound to the given
// address, as kubeadm's is to a control plane's: the kubeconfig names
// https://ADDR:6443, the serving certificate that address, and both
// processes live in the namespace, reached from the test only through
// DialContext. The namespace outlives Stop: the test owns it.
func TestAPIServerInNetns(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not running the real kube-apiserver")
	}
	if os.Geteuid() != 0 {
		t.Fatal("the judge in a network namespace needs root (ip netns): run the test as root, or go test -short")
	}
	Need(t, "ip", "iproute2")
	ns, addr := fmt.Sprintf("kprov-judge-%d", os.Getpid()), "10.40.0.11"
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run("-n", ns, "link", "set", "lo", "up")
	run("-n", ns, "addr", "add", addr+"/32", "dev", "lo")

	a := StartAPIServerIn(t, "v1.21.14", Netns{Name: ns, Addr: addr})
	want := "https://" + addr + ":6443"
	kc, err := clientcmd.LoadFromFile(a.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if a.URL != want || a.Netns != ns || kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster].Server != want {
		t.Errorf("URL %s, netns %s, kubeconfig server %s; want %s in %s", a.URL, a.Netns,
			kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster].Server, want, ns)
	}

	// client-go checks the serving certificate against the URL's address.
	cs, err := kubernetes.NewForConfig(a.RESTConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := bounded(t)
	if sv, err := cs.Discovery().ServerVersion(); err != nil || sv.GitVersion != "v1.21.14" {
		t.Fatalf("server version %v, %v", sv, err)
	}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "in-netns", Namespace: "default"}, Data: map[string]string{"ns": ns},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	conn, err := a.DialContext(ctx, "tcp", net.JoinHostPort(addr, "6443"))
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true})
	if err := tc.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	leaf := tc.ConnectionState().PeerCertificates[0]
	tc.Close()
	if !slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool { return ip.String() == addr }) {
		t.Errorf("serving certificate IP SANs %v lack %s", leaf.IPAddresses, addr)
	}

	// Both processes are in the namespace, not the test's; kube-apiserver
	// listens on the address alone.
	nsID, hostID := nsInode(t, filepath.Join("/run/netns", ns)), nsInode(t, "/proc/self/ns/net")
	api, etcd := a.PIDs()
	for name, pid := range map[string]int{"kube-apiserver": api, "etcd": etcd} {
		if got := nsInode(t, fmt.Sprintf("/proc/%d/ns/net", pid)); got != nsID || got == hostID {
			t.Errorf("%s (pid %d) is in network namespace %d; want %s's %d (the test's is %d)", name, pid, got, ns, nsID, hostID)
		}
	}
	if l := listening(t, api); !slices.Contains(l, addr+":6443") || slices.ContainsFunc(l, func(s string) bool { return strings.HasSuffix(s, ":6443") && s != addr+":6443" }) {
		t.Errorf("kube-apiserver listens on %v; want %s:6443 alone", l, addr)
	}

	a.Stop()
	for name, pid := range map[string]int{"kube-apiserver": api, "etcd": etcd} {
		if alive(pid) {
			t.Errorf("%s pid %d still exists after Stop", name, pid)
		}
	}
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
		t.Errorf("the namespace went with the judge: %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if c, err := DialIn(dctx, ns, "tcp", net.JoinHostPort(addr, "6443")); err == nil {
		c.Close()
		t.Error("something still listens on 6443 in the namespace after Stop")
	}
}

// nsInode is the inode of a namespace file.
func nsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// listening are the IPv4 ADDR:PORTs pid's network namespace has TCP
// sockets listening on (/proc/PID/net/tcp).
func listening(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "0A" { // TCP_LISTEN
			continue
		}
		host, port, _ := strings.Cut(f[1], ":")
		h, err1 := strconv.ParseUint(host, 16, 32)
		p, err2 := strconv.ParseUint(port, 16, 16)
		if err1 != nil || err2 != nil {
			continue
		}
		// The kernel prints the address as a native-endian number.
		ip := make(net.IP, 4)
		binary.NativeEndian.PutUint32(ip, uint32(h))
		out = append(out, fmt.Sprintf("%s:%d", ip, p))
	}
	return out
}
