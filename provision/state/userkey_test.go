package state

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kprov/kprov/provision/plan"
)

func writeKey(t *testing.T, dir string, passphrase []byte) (string, ssh.PublicKey) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase != nil {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "me@laptop", passphrase)
	} else {
		block, err = ssh.MarshalPrivateKey(priv, "me@laptop")
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, sshPub
}

func TestUseKeyDerivesPublicKey(t *testing.T) {
	path, pub := writeKey(t, t.TempDir(), nil)
	s := &Secrets{SSHAuthorizedKey: "ssh-ed25519 generated"}
	if err := UseKey(s, path); err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))); s.SSHAuthorizedKey != want {
		t.Errorf("authorized key %q, want %q", s.SSHAuthorizedKey, want)
	}
}

func TestUseKeyPrefersPubFile(t *testing.T) {
	dir := t.TempDir()
	path, pub := writeKey(t, dir, []byte("secret"))
	s := &Secrets{}
	if err := UseKey(s, path); err == nil || !strings.Contains(err.Error(), "passphrase-protected and has no") {
		t.Fatalf("want the passphrase error, got %v", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " me@laptop"
	if err := os.WriteFile(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UseKey(s, path); err != nil {
		t.Fatal(err)
	}
	if s.SSHAuthorizedKey != line {
		t.Errorf("authorized key %q, want %q", s.SSHAuthorizedKey, line)
	}
}

func TestUseKeyMissing(t *testing.T) {
	s := &Secrets{}
	err := UseKey(s, filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "remove it to let kprov generate one") {
		t.Errorf("want a missing-key error, got %v", err)
	}
}

func TestWriteKnownHosts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kh")
	s, err := Ensure(dir, "kh", []string{"cp-1"})
	if err != nil {
		t.Fatal(err)
	}
	nodes := []plan.Node{{Name: "cp-1", IP: netip.MustParseAddr("10.9.0.11")}}
	path, err := WriteKnownHosts(dir, nodes, s)
	if err != nil {
		t.Fatal(err)
	}
	check, err := knownhosts.New(path)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(s.HostKeys["cp-1"].Public))
	addr := &net.TCPAddr{IP: net.ParseIP("10.9.0.11"), Port: 22}
	if err := check("10.9.0.11:22", addr, pub); err != nil {
		t.Errorf("pinned key refused: %v", err)
	}
	_, otherPub := writeKey(t, t.TempDir(), nil)
	if err := check("10.9.0.11:22", addr, otherPub); err == nil {
		t.Error("another key was accepted")
	}
	if _, err := WriteKnownHosts(dir, append(nodes, plan.Node{Name: "gone"}), s); err == nil {
		t.Error("a node without a host key was accepted")
	}
}
