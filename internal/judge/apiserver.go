package judge

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// APIServer is a real kube-apiserver of Version with its own etcd, both
// listening on loopback only (or inside a network namespace), for tests
// that apply objects to a real API server. StartAPIServer starts it (StartAPIServerIn inside a network
// namespace); Stop (also run by the test's cleanup) ends it.
type APIServer struct {
	Version    string // v1.X.Y
	URL        string // https://HOST:PORT
	Kubeconfig string // an admin kubeconfig (mode 0600): CA and client certificate embedded, server URL
	Host, Port string
	// Netns is the network namespace both processes run in ("" for the
	// test's own): only DialContext reaches the server from the test.
	Netns string

	dir      string // the logs, certificates and etcd's data
	apiProc  *proc
	etcdProc *proc
	stopOnce sync.Once
}

// How long the API server may take to answer /readyz (and to create the
// default namespace), and how often it is asked.
const (
	apiServerReady = 90 * time.Second
	apiServerPoll  = 200 * time.Millisecond
	etcdReady      = 30 * time.Second
	stopGrace      = 10 * time.Second
)

// StartAPIServer starts the real kube-apiserver of version (v1.X.Y) on a
// free loopback port, backed by a real etcd on two more free loopback
// ports, and returns once /readyz answers ok with the admin credentials
// and the default namespace exists. Both binaries are built from the Go
// module proxy (bootstrap/kubeadm/oracle/build.sh and build-etcd.sh) and
// cached in ~/.cache/kprov; a first build takes minutes. It skips the test
// under -short; it does not need root.
//
// The admin is a client certificate of group system:masters, which every
// release authenticates (--client-ca-file) and authorizes (RBAC's
// cluster-admin binding, and the system:masters short cut). The
// ServiceAccount admission plugin is off: its tokens and the default
// service account come from kube-controller-manager, which is not running,
// so it would refuse every pod.
func StartAPIServer(t testing.TB, version string) *APIServer {
	t.Helper()
	return startAPIServer(t, version, nil)
}

// Netns places the judge in an existing network namespace, as on a
// control plane: kube-apiserver bound to Addr:Port (kubeadm's
// advertise address and port), etcd on the namespace's loopback.
type Netns struct {
	Name string // the namespace's name under /run/netns (ip netns add NAME)
	Addr string // an address on one of its interfaces; its loopback must be up too
	Port string // the API server's port; 6443 when empty
}

// StartAPIServerIn is StartAPIServer with etcd and kube-apiserver in the
// network namespace ns.Name (started with ip netns exec; the caller makes
// and removes the namespace). The serving certificate names ns.Addr, and
// the kubeconfig's server is https://ADDR:PORT, like kubeadm's admin.conf
// for that control plane. The test reaches the server with DialContext
// (RESTConfig sets it). It needs root.
func StartAPIServerIn(t testing.TB, version string, ns Netns) *APIServer {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not running the real kube-apiserver " + version)
	}
	if os.Geteuid() != 0 {
		t.Fatalf("the API server judge in network namespace %s runs ip netns exec: run the test as root, or go test -short", ns.Name)
	}
	if ip := net.ParseIP(ns.Addr); ip == nil || ip.To4() == nil {
		t.Fatalf("network namespace %s: address %q is not an IPv4 address", ns.Name, ns.Addr)
	}
	if ns.Name == "" {
		t.Fatal("StartAPIServerIn: no network namespace named")
	}
	if _, err := os.Stat(filepath.Join(netnsDir, ns.Name)); err != nil {
		t.Fatalf("network namespace %s: %v (make it with ip netns add)", ns.Name, err)
	}
	if ns.Port == "" {
		ns.Port = "6443"
	}
	return startAPIServer(t, version, &ns)
}

func startAPIServer(t testing.TB, version string, ns *Netns) *APIServer {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not running the real kube-apiserver " + version)
	}
	root := RepoRoot(t)
	oracle := filepath.Join(root, "bootstrap", "kubeadm", "oracle")
	etcdBin := buildOracle(t, "etcd", filepath.Join(oracle, "build-etcd.sh"))
	apiBin := buildOracle(t, "kube-apiserver "+version, filepath.Join(oracle, "build.sh"), version, "", "kube-apiserver")

	dir := t.TempDir()
	a := &APIServer{Version: version, Host: "127.0.0.1", dir: dir}
	etcdHost := "127.0.0.1" // the namespace's own loopback, when in one
	var clientPort, peerPort string
	if ns == nil {
		ports := freePorts(t, "", 3)
		clientPort, peerPort, a.Port = ports[0], ports[1], ports[2]
	} else {
		a.Netns, a.Host, a.Port = ns.Name, ns.Addr, ns.Port
		ports := freePorts(t, ns.Name, 2)
		clientPort, peerPort = ports[0], ports[1]
	}
	a.URL = "https://" + net.JoinHostPort(a.Host, a.Port)
	pki := writePKI(t, dir, net.ParseIP(a.Host))
	a.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	writeKubeconfig(t, a.Kubeconfig, a.URL, pki)
	// Registered after t.TempDir, so it runs before the folder goes.
	t.Cleanup(a.Stop)

	start := time.Now()
	etcdURL := "http://" + net.JoinHostPort(etcdHost, clientPort)
	peerURL := "http://" + net.JoinHostPort(etcdHost, peerPort)
	a.etcdProc = startProc(t, filepath.Join(dir, "etcd.log"), a.Netns, etcdBin,
		"--name=judge",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL,
		"--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=judge="+peerURL,
		"--initial-cluster-state=new",
		// A throw-away store: no fsync, which the 2-core test machines feel.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	)
	if err := a.waitEtcd(etcdURL + "/health"); err != nil {
		a.fail(t, "etcd", err)
	}
	etcdUp := time.Since(start)

	args := []string{
		"--bind-address=" + a.Host,
		"--advertise-address=" + a.Host,
		// Newer releases refuse a loopback advertise address with an
		// endpoint reconciler (the kubernetes service's Endpoints may not
		// be loopback): the default service stays without endpoints.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + a.Port,
		"--etcd-servers=" + etcdURL,
		"--cert-dir=" + filepath.Join(dir, "pki"),
		"--tls-cert-file=" + pki.serverCert,
		"--tls-private-key-file=" + pki.serverKey,
		"--client-ca-file=" + pki.caCert,
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + pki.saPub,
		"--service-account-signing-key-file=" + pki.saKey,
		"--service-cluster-ip-range=10.96.0.0/12",
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--profiling=false",
	}
	audit, err := auditArgs(dir)
	if err != nil {
		t.Fatal(err)
	}
	args = append(args, audit...)
	a.apiProc = startProc(t, filepath.Join(dir, "kube-apiserver.log"), a.Netns, apiBin, args...)
	if err := a.waitReady(pki); err != nil {
		a.fail(t, "kube-apiserver "+version, err)
	}
	where := ""
	if a.Netns != "" {
		where = " in network namespace " + a.Netns
	}
	t.Logf("kube-apiserver %s ready at %s%s in %s (etcd %s)", version, a.URL, where,
		time.Since(start).Round(time.Millisecond), etcdUp.Round(time.Millisecond))
	return a
}

// DialContext opens a connection the way the judge's clients reach the
// server: from inside its network namespace when it runs in one.
func (a *APIServer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if a.Netns == "" {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return DialIn(ctx, a.Netns, network, addr)
}

// RESTConfig is a client-go configuration for the admin kubeconfig.
func (a *APIServer) RESTConfig(t testing.TB) *rest.Config {
	t.Helper()
	c, err := clientcmd.BuildConfigFromFlags("", a.Kubeconfig)
	if err != nil {
		t.Fatalf("kubeconfig %s: %v", a.Kubeconfig, err)
	}
	c.Timeout = 30 * time.Second
	if a.Netns != "" {
		c.Dial = a.DialContext
	}
	return c
}

// PIDs are the process ids of kube-apiserver and etcd (0 for one not
// started).
func (a *APIServer) PIDs() (apiserver, etcd int) {
	return a.apiProc.pid(), a.etcdProc.pid()
}

// Stop ends kube-apiserver, then etcd: SIGTERM, SIGKILL after 10 s, and
// waits for both. It is idempotent; the test's cleanup calls it too.
func (a *APIServer) Stop() {
	a.stopOnce.Do(func() {
		a.apiProc.stop()
		a.etcdProc.stop()
	})
}

// fail stops both processes and fails the test with the error and the last
// lines of both logs.
func (a *APIServer) fail(t testing.TB, what string, err error) {
	t.Helper()
	a.Stop()
	var b strings.Builder
	for _, name := range []string{"etcd.log", "kube-apiserver.log"} {
		fmt.Fprintf(&b, "\n--- last lines of %s:\n%s", name, tail(filepath.Join(a.dir, name), 40))
	}
	t.Fatalf("%s: %v%s", what, err, b.String())
}

func (a *APIServer) waitEtcd(url string) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DialContext: a.DialContext}}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(etcdReady)
	var last error
	for i := 0; i < int(etcdReady/apiServerPoll) && time.Now().Before(deadline); i++ {
		if a.etcdProc.exited() {
			return fmt.Errorf("etcd exited: %v", a.etcdProc.err)
		}
		body, code, err := get(c, url)
		if err == nil && code == http.StatusOK && bytes.Contains(body, []byte(`"health":"true"`)) {
			return nil
		}
		last = describe(body, code, err)
		time.Sleep(apiServerPoll)
	}
	return fmt.Errorf("etcd not healthy after %s: %v", etcdReady, last)
}

// waitReady polls /readyz (/healthz where there is no /readyz) with the
// admin's certificate until it answers ok, then until the default
// namespace exists: the bootstrap controller creates it just after.
func (a *APIServer) waitReady(p *pkiFiles) error {
	cert, err := tls.LoadX509KeyPair(p.adminCert, p.adminKey)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(p.caPEM)
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext:     a.DialContext,
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(apiServerReady)
	path := "/readyz"
	ready := false
	var last error
	for i := 0; i < int(apiServerReady/apiServerPoll) && time.Now().Before(deadline); i++ {
		if a.apiProc.exited() {
			return fmt.Errorf("kube-apiserver exited: %v", a.apiProc.err)
		}
		if a.etcdProc.exited() {
			return fmt.Errorf("etcd exited: %v", a.etcdProc.err)
		}
		if !ready {
			body, code, err := get(c, a.URL+path)
			switch {
			case err == nil && code == http.StatusNotFound && path == "/readyz":
				path = "/healthz"
				continue
			case err == nil && code == http.StatusOK && strings.TrimSpace(string(body)) == "ok":
				ready = true
				continue
			}
			last = fmt.Errorf("%s: %v", path, describe(body, code, err))
		} else {
			body, code, err := get(c, a.URL+"/api/v1/namespaces/default")
			if err == nil && code == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("namespace default: %v", describe(body, code, err))
		}
		time.Sleep(apiServerPoll)
	}
	return fmt.Errorf("not ready after %s: %v", apiServerReady, last)
}

func get(c *http.Client, url string) ([]byte, int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return body, resp.StatusCode, err
}

func describe(body []byte, code int, err error) error {
	if err != nil {
		return err
	}
	b := strings.TrimSpace(string(body))
	if len(b) > 2000 {
		b = b[:2000] + "..."
	}
	return fmt.Errorf("HTTP %d: %s", code, b)
}

// buildOracle runs a build script of bootstrap/kubeadm/oracle, which prints
// the path of the (cached) binary.
func buildOracle(t testing.TB, what, script string, args ...string) string {
	t.Helper()
	return buildOracleEnv(t, nil, what, script, args...)
}

// buildOracleEnv is buildOracle with env added to the script's environment.
func buildOracleEnv(t testing.TB, env []string, what, script string, args ...string) string {
	t.Helper()
	start := time.Now()
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			out = ee.Stderr
		}
		t.Fatalf("build %s: %v\n%s", what, err, out)
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("%s built in %s", what, d.Round(time.Second))
	}
	return strings.TrimSpace(string(out))
}

// freePorts are n distinct free TCP ports on 127.0.0.1 (of the network
// namespace netns, when not ""), all held open until all are picked.
func freePorts(t testing.TB, netns string, n int) []string {
	t.Helper()
	var ports []string
	for i := 0; i < n; i++ {
		var l net.Listener
		var err error
		if netns == "" {
			l, err = net.Listen("tcp", "127.0.0.1:0")
		} else {
			l, err = ListenIn(netns, "tcp", "127.0.0.1:0")
		}
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		_, port, _ := net.SplitHostPort(l.Addr().String())
		ports = append(ports, port)
	}
	return ports
}

// proc is a started process and the end of its Wait.
type proc struct {
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error // Wait's, once done is closed
}

// startProc starts bin, in the network namespace netns when not "" (ip
// netns exec, which execs bin in place: the process is bin), in a process
// group of its own, which stop ends.
func startProc(t testing.TB, logPath, netns, bin string, args ...string) *proc {
	t.Helper()
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	if netns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", netns, bin}, args...)...)
	}
	cmd.Stdout, cmd.Stderr = log, log
	// If the test binary dies without its cleanup, so does the server
	// (strictly: if the OS thread that started it ends, which Go does only
	// to a thread a goroutine locked and never unlocked).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	p := &proc{cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p
}

func (p *proc) pid() int {
	if p == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process's group (the process and any child of
// it), then SIGKILL after stopGrace, and waits for the process.
func (p *proc) stop() {
	if p == nil {
		return
	}
	pgid := p.cmd.Process.Pid // Setpgid: the process leads its group
	if p.exited() {
		return
	}
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(stopGrace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
}

// tail is the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// pkiFiles are the paths of the judge's certificates and keys.
type pkiFiles struct {
	caCert, serverCert, serverKey, adminCert, adminKey, saKey, saPub string
	caPEM, adminCertPEM, adminKeyPEM                                 []byte
}

// writePKI writes a CA, a serving certificate for 127.0.0.1, host,
// localhost and the kubernetes service's names, an admin client
// certificate of group system:masters, and an RSA service account key
// pair, into dir/pki.
func writePKI(t testing.TB, dir string, host net.IP) *pkiFiles {
	t.Helper()
	pd := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pd, 0o700); err != nil {
		t.Fatal(err)
	}
	p := &pkiFiles{}
	write := func(name string, typ string, der []byte) (string, []byte) {
		path := filepath.Join(pd, name)
		b := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path, b
	}
	ecKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ecDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	serial := int64(1)
	now := time.Now()
	sign := func(tmpl *x509.Certificate, pub any, parent *x509.Certificate, key *ecdsa.PrivateKey) ([]byte, *x509.Certificate) {
		tmpl.SerialNumber = big.NewInt(serial)
		serial++
		tmpl.NotBefore = now.Add(-time.Hour)
		tmpl.NotAfter = now.Add(48 * time.Hour)
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return der, c
	}

	caKey := ecKey()
	caDER, ca := sign(&x509.Certificate{
		Subject:               pkix.Name{CommonName: "kprov-judge-ca"},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}, &caKey.PublicKey, nil, caKey)
	p.caCert, p.caPEM = write("ca.crt", "CERTIFICATE", caDER)

	srvKey := ecKey()
	srvDER, _ := sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default",
			"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: serverIPs(host),
	}, &srvKey.PublicKey, ca, caKey)
	p.serverCert, _ = write("apiserver.crt", "CERTIFICATE", srvDER)
	p.serverKey, _ = write("apiserver.key", "EC PRIVATE KEY", ecDER(srvKey))

	admKey := ecKey()
	admDER, _ := sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kprov-judge-admin", Organization: []string{"system:masters"}},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, &admKey.PublicKey, ca, caKey)
	p.adminCert, p.adminCertPEM = write("admin.crt", "CERTIFICATE", admDER)
	p.adminKey, p.adminKeyPEM = write("admin.key", "EC PRIVATE KEY", ecDER(admKey))

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	p.saKey, _ = write("sa.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey))
	p.saPub, _ = write("sa.pub", "PUBLIC KEY", pub)
	return p
}

// writeKubeconfig writes the admin kubeconfig, mode 0600.
func writeKubeconfig(t testing.TB, path, url string, p *pkiFiles) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["judge"] = &clientcmdapi.Cluster{Server: url, CertificateAuthorityData: p.caPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: p.adminCertPEM, ClientKeyData: p.adminKeyPEM}
	cfg.Contexts["admin@judge"] = &clientcmdapi.Context{Cluster: "judge", AuthInfo: "admin"}
	cfg.CurrentContext = "admin@judge"
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// serverIPs are the serving certificate's addresses: loopback, the
// kubernetes Service's first address, and host when another.
func serverIPs(host net.IP) []net.IP {
	ips := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")}
	for _, ip := range ips {
		if host == nil || ip.Equal(host) {
			return ips
		}
	}
	return append(ips, host)
}

// netnsDir holds the named network namespaces of ip netns.
const netnsDir = "/run/netns"

// DialIn opens a connection from inside the named network namespace (ip
// netns add NAME): the socket is made on an OS thread switched into the
// namespace, so it stays there, and the thread is switched back before
// Go may use it for anything else. addr must be an IP address and port.
func DialIn(ctx context.Context, netns, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := inNetns(netns, func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil && c != nil {
		c.Close()
		c = nil
	}
	return c, err
}

// ListenIn listens inside the named network namespace, as DialIn dials.
func ListenIn(netns, network, addr string) (net.Listener, error) {
	var l net.Listener
	err := inNetns(netns, func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	if err != nil && l != nil {
		l.Close()
		l = nil
	}
	return l, err
}

// inNetns runs f on a goroutine locked to an OS thread that is in the
// network namespace netns while f runs. If the thread cannot be switched
// back it stays locked, and Go ends it with the goroutine.
func inNetns(netns string, f func() error) error {
	target, err := os.Open(filepath.Join(netnsDir, netns))
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", netns, err)
	}
	defer target.Close()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer home.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("enter network namespace %s: %w", netns, err)
			return
		}
		ferr := f()
		if err := unix.Setns(int(home.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- errors.Join(ferr, fmt.Errorf("leave network namespace %s: %w", netns, err))
			return
		}
		runtime.UnlockOSThread()
		done <- ferr
	}()
	return <-done
}

var (
	daemonSets  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// Controllers stands in for kube-controller-manager, kube-scheduler and
// the kubelets, which a bare API server has not: every 200 ms, for at most
// 10 minutes, it reports every DaemonSet and Deployment as rolled out (one
// pod each, or the Deployment's replicas), as their controllers would once
// the pods run. stop ends it and waits. Status writes bump
// resourceVersions: stop it before comparing them.
func Controllers(dyn dynamic.Interface) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 3000 && ctx.Err() == nil; i++ {
			for _, gvr := range []schema.GroupVersionResource{daemonSets, deployments} {
				list, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{})
				if err != nil {
					continue
				}
				for i := range list.Items {
					o := &list.Items[i]
					if done, _ := rolledOutStatus(o); done {
						continue
					}
					_, _ = dyn.Resource(gvr).Namespace(o.GetNamespace()).UpdateStatus(ctx, o, metav1.UpdateOptions{})
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() { cancel(); wg.Wait() }
}

// rolledOutStatus writes a rolled-out status into o, reporting whether it
// already had one.
func rolledOutStatus(o *unstructured.Unstructured) (bool, error) {
	gen := o.GetGeneration()
	var status map[string]any
	if o.GetKind() == "DaemonSet" {
		status = map[string]any{"observedGeneration": gen, "desiredNumberScheduled": int64(1), "currentNumberScheduled": int64(1),
			"updatedNumberScheduled": int64(1), "numberAvailable": int64(1), "numberReady": int64(1), "numberMisscheduled": int64(0)}
	} else {
		replicas, found, _ := unstructured.NestedInt64(o.Object, "spec", "replicas")
		if !found {
			replicas = 1
		}
		status = map[string]any{"observedGeneration": gen, "replicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas, "readyReplicas": replicas}
	}
	cur, _, _ := unstructured.NestedMap(o.Object, "status")
	same := true
	for k, v := range status {
		if cur[k] != v {
			same = false
		}
	}
	if same {
		return true, nil
	}
	return false, unstructured.SetNestedField(o.Object, status, "status")
}
