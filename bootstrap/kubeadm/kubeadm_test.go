package kubeadm

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/spec"
)

func TestAPIVersion(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"v1.20.15", ""}, {"v1.21.0", V1beta2}, {"1.21.14", V1beta2}, {"v1.22.0", V1beta3},
		{"v1.30.14", V1beta3}, {"v1.31.0", V1beta4}, {"v1.37.2", V1beta4},
		{"v2.0.0", ""}, {"latest", ""}, {"", ""},
	} {
		v, _ := spec.ParseVersion(c.in) // not Valid for latest and ""
		got, err := APIVersion(v)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("APIVersion(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// newCA makes a throwaway self-signed CA certificate.
func newCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kubernetes"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<32, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestCACertHash(t *testing.T) {
	ca := newCA(t)
	got, err := CACertHash(ca)
	if err != nil {
		t.Fatal(err)
	}
	// Independently: re-encode the public key rather than read the raw SPKI.
	b, _ := pem.Decode(ca)
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(cert.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spki)
	if want := "sha256:" + hex.EncodeToString(sum[:]); got != want {
		t.Errorf("CACertHash = %s, re-encoded key gives %s", got, want)
	}
	// And as the kubeadm docs compute it, when openssl is here.
	if _, err := exec.LookPath("openssl"); err == nil {
		cmd := exec.Command("sh", "-c", "openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum")
		cmd.Stdin = bytes.NewReader(ca)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if want := "sha256:" + strings.Fields(string(out))[0]; got != want {
			t.Errorf("CACertHash = %s, openssl gives %s", got, want)
		}
	} else {
		t.Log("openssl not installed; compared with Go only")
	}
	// The fixture CA's hash, computed with openssl when it was made.
	const fixture = "sha256:0213a33eba749141036de2c92454f43456b59de0a3bb80c6e56e4c25d0359209"
	if got, err := CACertHash(testSecrets(t).CACert); got != fixture || err != nil {
		t.Errorf("fixture CA hash = %s, %v; want %s", got, err, fixture)
	}
	for _, bad := range [][]byte{nil, []byte("not pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})} {
		if _, err := CACertHash(bad); err == nil {
			t.Errorf("CACertHash(%q) did not fail", bad)
		}
	}
}

func TestEndpoint(t *testing.T) {
	in := fixtures[0].input(t)
	cp := in.Nodes[0]
	for _, c := range []struct{ spec, want string }{
		{"", cp.IP.String() + ":6443"},
		{"api.lab", "api.lab:6443"},
		{"api.lab:8443", "api.lab:8443"},
		{"10.17.0.5", "10.17.0.5:6443"},
	} {
		in.Cluster.Network.APIEndpoint = c.spec
		if got, err := Endpoint(in); got != c.want || err != nil {
			t.Errorf("Endpoint with api_endpoint %q = %q, %v; want %q", c.spec, got, err, c.want)
		}
	}
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	for _, s := range []struct{ token, key string }{
		{"ABCDEF.SECRETSECRETSECRE", testCertKey},
		{testToken, "NOT-HEX-" + strings.Repeat("Z", 56)},
	} {
		in := fixtures[0].input(t)
		in.Secrets.BootstrapToken, in.Secrets.CertificateKey = s.token, s.key
		_, err := InitConfig(in)
		if err == nil {
			t.Fatal("InitConfig accepted a malformed secret")
		}
		if msg := err.Error(); strings.Contains(msg, s.token) || strings.Contains(msg, s.key) {
			t.Errorf("error shows a secret: %s", msg)
		}
	}
	sec := testSecrets(t)
	err := redact(errors.New("bad token "+testToken+" key "+testCertKey), sec)
	if strings.Contains(err.Error(), "0123456789abcdef") || strings.Contains(err.Error(), testCertKey) {
		t.Errorf("redact left a secret: %s", err)
	}
	// An upstream validation failure goes through redact too.
	in := fixtures[0].input(t)
	in.Cluster.Network.PodCIDR = "10.0.0.0/99"
	if _, err := InitConfig(in); err == nil || strings.Contains(err.Error(), "0123456789abcdef") {
		t.Errorf("invalid pod CIDR: err = %v", err)
	}
}
