package state

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func ensure(t *testing.T, dir string, nodes ...string) *Secrets {
	t.Helper()
	s, err := Ensure(dir, "lab", nodes)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// snapshot is every file under dir with its bytes.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestEnsureModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "lab")
	ensure(t, dir, "cp-1", "worker-1")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700 | fs.ModeDir
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{CACertFile, CAKeyFile, TokenFile, CertificateKeyFile, SSHKeyFile, SSHPublicKeyFile,
		HostKeysDir + "/cp-1", HostKeysDir + "/worker-1"}
	got := slices.Sorted(maps.Keys(snapshot(t, dir)))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("files %v, want %v (no temporary files left)", got, want)
	}
}

func TestEnsureIsIdempotent(t *testing.T) {
	dir := tempDir(t)
	first := ensure(t, dir, "cp-1", "worker-1")
	files := snapshot(t, dir)
	second := ensure(t, dir, "cp-1", "worker-1")
	if !reflect.DeepEqual(first, second) {
		t.Error("a second Ensure returned different secrets")
	}
	if !maps.Equal(files, snapshot(t, dir)) {
		t.Error("a second Ensure changed files")
	}
	loaded, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, loaded) {
		t.Error("Load differs from Ensure")
	}
}

func TestAddingANodeAddsOneHostKey(t *testing.T) {
	dir := tempDir(t)
	before := ensure(t, dir, "cp-1")
	files := snapshot(t, dir)
	after := ensure(t, dir, "cp-1", "worker-1")
	now := snapshot(t, dir)
	added := HostKeysDir + "/worker-1"
	if _, ok := now[added]; !ok || len(now) != len(files)+1 {
		t.Fatalf("files %v, want those of before plus %s", slices.Sorted(maps.Keys(now)), added)
	}
	delete(now, added)
	if !maps.Equal(files, now) {
		t.Error("adding a node changed existing files")
	}
	if _, ok := after.HostKeys["worker-1"]; !ok {
		t.Error("no host key for the new node")
	}
	delete(after.HostKeys, "worker-1")
	if !reflect.DeepEqual(before, after) {
		t.Error("adding a node changed other secrets")
	}
	// A node that leaves keeps its key.
	if s := ensure(t, dir, "cp-1"); len(s.HostKeys) != 2 {
		t.Errorf("host keys %v, want both kept", slices.Sorted(maps.Keys(s.HostKeys)))
	}
}

func TestFormats(t *testing.T) {
	s := ensure(t, tempDir(t), "cp-1")
	if !regexp.MustCompile(`^[a-z0-9]{6}\.[a-z0-9]{16}$`).MatchString(s.BootstrapToken) {
		t.Errorf("token %q", s.BootstrapToken)
	}
	if b, err := hex.DecodeString(s.CertificateKey); err != nil || len(b) != 32 {
		t.Errorf("certificate key %q: want 32 bytes in hex", s.CertificateKey)
	}
	pub, comment, _, _, err := ssh.ParseAuthorizedKey([]byte(s.SSHAuthorizedKey))
	if err != nil || pub.Type() != ssh.KeyAlgoED25519 || comment != "kprov-lab" {
		t.Errorf("authorized key %q: %v", s.SSHAuthorizedKey, err)
	}
	signer, err := ssh.ParsePrivateKey(s.SSHPrivateKey)
	if err != nil || string(signer.PublicKey().Marshal()) != string(pub.Marshal()) {
		t.Errorf("private key does not match the authorized key: %v", err)
	}
	hk := s.HostKeys["cp-1"]
	hpub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hk.Public))
	if err != nil || hpub.Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("host key %q: %v", hk.Public, err)
	}
	hs, err := ssh.ParsePrivateKey(hk.Private)
	if err != nil || string(hs.PublicKey().Marshal()) != string(hpub.Marshal()) {
		t.Errorf("host private key does not match its public key: %v", err)
	}
}

func TestCA(t *testing.T) {
	s := ensure(t, tempDir(t))
	b, _ := pem.Decode(s.CACert)
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.IsCA || !cert.BasicConstraintsValid || cert.Subject.CommonName != "kubernetes" {
		t.Errorf("not a kubernetes CA: IsCA=%v CN=%q", cert.IsCA, cert.Subject.CommonName)
	}
	if cert.KeyUsage&x509.KeyUsageCertSign == 0 || cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("key usage %b lacks cert sign or digital signature", cert.KeyUsage)
	}
	if years := cert.NotAfter.Sub(cert.NotBefore).Hours() / 24 / 365; years < 9.99 || years > 10.01 {
		t.Errorf("valid for %.2f years, want 10", years)
	}
	if cert.NotBefore.After(time.Now()) {
		t.Error("not valid yet")
	}
	if err := cert.CheckSignatureFrom(cert); err != nil {
		t.Errorf("does not verify itself: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("does not chain to itself: %v", err)
	}
	k, _ := pem.Decode(s.CAKey)
	key, err := x509.ParsePKCS1PrivateKey(k.Bytes)
	if err != nil || key.N.BitLen() != 2048 || !key.PublicKey.Equal(cert.PublicKey) {
		t.Errorf("CA key: want the certificate's RSA 2048 key (%v)", err)
	}
}

func TestLooseModesAreRefused(t *testing.T) {
	for _, rel := range []string{SSHKeyFile, HostKeysDir + "/cp-1", TokenFile, CAKeyFile} {
		t.Run(rel, func(t *testing.T) {
			dir := tempDir(t)
			ensure(t, dir, "cp-1")
			path := filepath.Join(dir, rel)
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Ensure(dir, "lab", []string{"cp-1"})
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("error %v, want one naming %s and chmod 600", err, path)
			}
			if _, err := Load(dir); err == nil {
				t.Error("Load accepted the loose file")
			}
		})
	}
	t.Run("folder", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := Ensure(dir, "lab", nil)
		if err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) {
			t.Errorf("error %v, want one naming chmod 700 %s", err, dir)
		}
	})
}

func TestBadNodeName(t *testing.T) {
	for _, n := range []string{"", "..", "a/b", ".hidden"} {
		if _, err := Ensure(tempDir(t), "lab", []string{n}); err == nil {
			t.Errorf("node name %q accepted", n)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	home := func() (string, error) { return "/home/u", nil }
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"KPROV_STATE_DIR": "/s", "XDG_STATE_HOME": "/x"}, "/s/lab"},
		{map[string]string{"XDG_STATE_HOME": "/x"}, "/x/kprov/lab"},
		{nil, "/home/u/.local/state/kprov/lab"},
	} {
		if got := defaultDir("lab", func(k string) string { return tc.env[k] }, home); got != tc.want {
			t.Errorf("env %v: got %s, want %s", tc.env, got, tc.want)
		}
	}
	t.Setenv("KPROV_STATE_DIR", "/tmp/k")
	if got := DefaultDir("lab"); got != "/tmp/k/lab" {
		t.Errorf("DefaultDir reads the environment: got %s", got)
	}
}

// tempDir is a state folder path that does not exist yet (t.TempDir is 0755).
func tempDir(t *testing.T) string { return filepath.Join(t.TempDir(), "lab") }
