package state

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
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
	if err := s.UseKey(path); err != nil {
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
	if err := s.UseKey(path); err == nil || !strings.Contains(err.Error(), "passphrase-protected and has no") {
		t.Fatalf("want the passphrase error, got %v", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " me@laptop"
	if err := os.WriteFile(path+".pub", []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.UseKey(path); err != nil {
		t.Fatal(err)
	}
	if s.SSHAuthorizedKey != line {
		t.Errorf("authorized key %q, want %q", s.SSHAuthorizedKey, line)
	}
}

func TestUseKeyMissing(t *testing.T) {
	s := &Secrets{}
	err := s.UseKey(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !strings.Contains(err.Error(), "remove it to let kprov generate one") {
		t.Errorf("want a missing-key error, got %v", err)
	}
}
