package virt_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/lab/labtest"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/provision/judge"
	"github.com/kprov/kprov/provision/virt"
)

// startSSHD runs sshd on listen (host:port) in the test's namespace,
// letting root in with clientPub; it returns the host's public key line.
func startSSHD(t *testing.T, listen string, clientPub string) string {
	t.Helper()
	sshd := judge.Need(t, "sshd", "openssh-server")
	dir := t.TempDir()
	hostKey := filepath.Join(dir, "host_key")
	hostPub := writeKey(t, hostKey)
	auth := filepath.Join(dir, "authorized_keys")
	os.WriteFile(auth, []byte(clientPub+"\n"), 0o600)
	cfg := filepath.Join(dir, "sshd_config")
	os.WriteFile(cfg, []byte(fmt.Sprintf("ListenAddress %s\nHostKey %s\nPidFile %s/pid\nUsePAM no\n"+
		"PermitRootLogin prohibit-password\nStrictModes no\nAuthorizedKeysFile %s\nAllowStreamLocalForwarding yes\n",
		listen, hostKey, dir, auth)), 0o600)
	os.MkdirAll("/run/sshd", 0o755)
	var logs strings.Builder
	cmd := exec.Command(sshd, "-D", "-e", "-f", cfg)
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("sshd said:\n%s", logs.String())
		}
	})
	return hostPub
}

// qemu+ssh reaches a libvirtd through an SSH tunnel to its socket, and only
// when the host key is the one known_hosts pins.
func TestRemoteOverSSH(t *testing.T) {
	labtest.Need(t)
	dir := t.TempDir()
	clientPub := writeKey(t, filepath.Join(dir, "id"))
	raw, _ := os.ReadFile(filepath.Join(dir, "id"))
	signer, err := ssh.ParsePrivateKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	hostPub := startSSHD(t, "127.0.0.1:2222", clientPub)
	known := filepath.Join(dir, "known_hosts")
	os.WriteFile(known, []byte("[127.0.0.1]:2222 "+hostPub+"\n"), 0o600)
	opts := virt.DialOptions{KnownHosts: known, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, Timeout: 10 * time.Second}
	uri := "qemu+ssh://root@127.0.0.1:2222/system"

	var conn *virt.Conn
	for i := 0; i < 50; i++ { // sshd takes a moment to listen
		if conn, err = virt.Dial(context.Background(), uri, opts); err == nil || !strings.Contains(err.Error(), "connection refused") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	h, why, err := conn.Host("tcg")
	if err != nil || h.LibvirtVersion < 9_000_000 || h.DomainType != "qemu" {
		t.Fatalf("over SSH: %+v %q %v", h, why, err)
	}

	os.WriteFile(known, []byte("[127.0.0.1]:2222 "+writeKey(t, filepath.Join(dir, "other"))+"\n"), 0o600)
	_, err = virt.Dial(context.Background(), uri, opts)
	if err == nil || !strings.Contains(err.Error(), "host key not trusted") || !strings.Contains(err.Error(), "add it to "+known) {
		t.Errorf("a changed host key: %v", err)
	}
	opts.Auth = nil
	if _, err = virt.Dial(context.Background(), uri, opts); err == nil || !strings.Contains(err.Error(), "no SSH key to log in with") {
		t.Errorf("no key: %v", err)
	}
}
