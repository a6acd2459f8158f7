package judge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// EtcdCluster is a real etcd cluster on 127.0.0.1 with TLS and client
// certificate authentication for clients and peers, as kubeadm runs its
// stacked etcd, its certificates in PKI under kubeadm's names (ca.crt,
// healthcheck-client.crt and .key).
type EtcdCluster struct {
	PKI     string
	Etcdctl string
	Members []*EtcdMember
}

// EtcdMember is one member: its name, client URL and process.
type EtcdMember struct {
	Name, ClientURL string
	cmd             *exec.Cmd
	done            chan struct{}
}

// Stop kills the member (a node gone), and waits for it.
func (m *EtcdMember) Stop() {
	if m.cmd.Process != nil {
		m.cmd.Process.Kill()
		<-m.done
	}
}

// StartEtcdCluster starts members named names (etcd v3.6.16 and its
// etcdctl, built from the Go module proxy by build-etcd.sh and cached),
// waits until each answers its health check, and stops them at cleanup.
// It skips under -short.
func StartEtcdCluster(t testing.TB, names ...string) *EtcdCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not running a real etcd cluster")
	}
	script := filepath.Join(RepoRoot(t), "bootstrap", "kubeadm", "oracle", "build-etcd.sh")
	etcd := buildOracle(t, "etcd", script)
	c := &EtcdCluster{PKI: filepath.Join(t.TempDir(), "pki"),
		Etcdctl: buildOracleEnv(t, []string{"ETCD_PROGRAM=etcdctl"}, "etcdctl", script)}
	cert, key := writeEtcdPKI(t, c.PKI)
	ports := freePorts(t, "", 2*len(names))
	var initial []string
	for i, n := range names {
		initial = append(initial, n+"=https://127.0.0.1:"+ports[2*i+1])
	}
	dir := t.TempDir()
	for i, n := range names {
		m := &EtcdMember{Name: n, ClientURL: "https://127.0.0.1:" + ports[2*i], done: make(chan struct{})}
		peer := "https://127.0.0.1:" + ports[2*i+1]
		log, err := os.Create(filepath.Join(dir, n+".log"))
		if err != nil {
			t.Fatal(err)
		}
		m.cmd = exec.Command(etcd, "--name="+n, "--data-dir="+filepath.Join(dir, n),
			"--listen-client-urls="+m.ClientURL, "--advertise-client-urls="+m.ClientURL,
			"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
			"--initial-cluster="+strings.Join(initial, ","), "--initial-cluster-state=new", "--initial-cluster-token=judge",
			"--cert-file="+cert, "--key-file="+key, "--client-cert-auth", "--trusted-ca-file="+filepath.Join(c.PKI, "ca.crt"),
			"--peer-cert-file="+cert, "--peer-key-file="+key, "--peer-client-cert-auth", "--peer-trusted-ca-file="+filepath.Join(c.PKI, "ca.crt"),
			"--listen-metrics-urls=http://127.0.0.1:0")
		m.cmd.Stdout, m.cmd.Stderr = log, log
		if err := m.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { m.cmd.Wait(); log.Close(); close(m.done) }()
		t.Cleanup(m.Stop)
		c.Members = append(c.Members, m)
	}
	for _, m := range c.Members {
		if err := c.waitHealthy(m, 60*time.Second); err != nil {
			t.Fatalf("etcd member %s: %v\n%s", m.Name, err, tail(filepath.Join(dir, m.Name+".log"), 30))
		}
	}
	return c
}

// waitHealthy polls m's /health with the client certificate, up to limit.
func (c *EtcdCluster) waitHealthy(m *EtcdMember, limit time.Duration) error {
	pair, err := tls.LoadX509KeyPair(filepath.Join(c.PKI, "healthcheck-client.crt"), filepath.Join(c.PKI, "healthcheck-client.key"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(filepath.Join(c.PKI, "ca.crt"))
	if err != nil {
		return err
	}
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool}}}
	var last error
	for deadline, i := time.Now().Add(limit), 0; time.Now().Before(deadline) && i < int(limit/(200*time.Millisecond)); i++ {
		select {
		case <-m.done:
			return fmt.Errorf("exited")
		default:
		}
		resp, err := client.Get(m.ClientURL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("/health: %s", resp.Status)
		}
		last = err
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("not healthy after %s: %v", limit, last)
}

// writeEtcdPKI writes a CA and one certificate for 127.0.0.1 good as server,
// peer and client into dir, under kubeadm's names for the CA and the
// health check client; it returns the certificate's and key's paths.
func writeEtcdPKI(t testing.TB, dir string) (cert, key string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "etcd-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "etcd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("ca.crt", "CERTIFICATE", caDER)
	cert, key = write("healthcheck-client.crt", "CERTIFICATE", der), write("healthcheck-client.key", "EC PRIVATE KEY", keyDER)
	return cert, key
}
