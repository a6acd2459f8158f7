package virt_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/internal/labtest"
	"github.com/kprov/kprov/internal/sshdtest"
	"github.com/kprov/kprov/provision/virt"
)

// startSSHD runs sshd on listen (host:port) in the test's namespace, or in
// network namespace netns when set, letting root in with clientPub; it
// returns the host's public key line.
func startSSHD(t *testing.T, netns, listen string, clientPub string) string {
	t.Helper()
	s := judge.StartSSHD(t, sshdtest.Config{Listen: listen, Netns: netns, AuthorizedKeys: []byte(clientPub + "\n")})
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey)))
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
	hostPub := startSSHD(t, "", "127.0.0.1:2222", clientPub)
	known := filepath.Join(dir, "known_hosts")
	os.WriteFile(known, []byte("[127.0.0.1]:2222 "+hostPub+"\n"), 0o600)
	// No ssh config: the test never reads the real home's.
	opts := virt.DialOptions{KnownHosts: known, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, Timeout: 10 * time.Second,
		SSHConfig: filepath.Join(dir, "no-config")}
	uri := "qemu+ssh://root@127.0.0.1:2222/system"

	conn := dialRetry(t, uri, opts)
	checkHost(t, conn)

	// An ssh config alias gives the host name, port, user and key.
	cfg := filepath.Join(dir, "config")
	os.WriteFile(cfg, []byte("Host hv\n  HostName 127.0.0.1\n  Port 2222\n  User root\n  IdentityFile "+filepath.Join(dir, "id")+"\n"), 0o600)
	checkHost(t, dialRetry(t, "qemu+ssh://hv/system", virt.DialOptions{KnownHosts: known, SSHConfig: cfg, Timeout: 10 * time.Second}))
	// An encrypted IdentityFile is left to ssh-agent, and the error says so.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "id"), pem.EncodeToMemory(block), 0o600)
	_, err = virt.Dial(context.Background(), "qemu+ssh://hv/system", virt.DialOptions{KnownHosts: known, SSHConfig: cfg, Timeout: 10 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "no SSH key to log in with; IdentityFile "+filepath.Join(dir, "id")+" is encrypted") ||
		!strings.Contains(err.Error(), "ssh-agent") {
		t.Errorf("an encrypted IdentityFile: %v", err)
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

// dialRetry dials uri, retrying while sshd (or a jump host's target) is
// not listening yet, at most 5 s; the connection closes with the test.
func dialRetry(t *testing.T, uri string, opts virt.DialOptions) *virt.Conn {
	t.Helper()
	var conn *virt.Conn
	var err error
	for i := 0; i < 50; i++ {
		if conn, err = virt.Dial(context.Background(), uri, opts); err == nil || !strings.Contains(strings.ToLower(err.Error()), "connection refused") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// checkHost asks the daemon behind conn for its version.
func checkHost(t *testing.T, conn *virt.Conn) {
	t.Helper()
	h, why, err := conn.Host("tcg")
	if err != nil || h.LibvirtVersion < 9_000_000 || h.DomainType != "qemu" {
		t.Fatalf("over SSH: %+v %q %v", h, why, err)
	}
}

// A hypervisor reachable only through a jump host: its sshd listens on the
// loopback of a namespace of the test's own, where the bastion's sshd also
// runs, on a veth address the test reaches. ~/.ssh/config's ProxyJump,
// HostName, Port, User, IdentityFile and UserKnownHostsFile lead there,
// and each hop's host key is checked under its resolved name.
func TestRemoteProxyJump(t *testing.T) {
	labtest.Need(t)
	ns := fmt.Sprintf("kprov-jump-%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	ip("netns", "add", ns)
	// Registered first, so it runs after the sshds are stopped.
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("link", "add", "kpjump0", "type", "veth", "peer", "name", "kpjump1", "netns", ns)
	ip("addr", "add", "10.231.7.1/30", "dev", "kpjump0")
	ip("link", "set", "kpjump0", "up")
	ip("-n", ns, "addr", "add", "10.231.7.2/30", "dev", "kpjump1")
	ip("-n", ns, "link", "set", "kpjump1", "up")
	ip("-n", ns, "link", "set", "lo", "up")

	dir := t.TempDir()
	id := filepath.Join(dir, "id")
	clientPub := writeKey(t, id)
	jumpPub := startSSHD(t, ns, "10.231.7.2:22", clientPub)
	hvPub := startSSHD(t, ns, "127.0.0.1:2223", clientPub)
	known := filepath.Join(dir, "known_hosts")
	os.WriteFile(known, []byte("10.231.7.2 "+jumpPub+"\n[127.0.0.1]:2223 "+hvPub+"\n"), 0o600)
	cfg := filepath.Join(dir, "config")
	writeConfig := func(jump string) {
		os.WriteFile(cfg, []byte(fmt.Sprintf(`Host hv
  HostName 127.0.0.1
  Port 2223
  %s
Host bastion
  HostName 10.231.7.2
Host *
  User root
  IdentityFile %s
  UserKnownHostsFile %s
`, jump, id, known)), 0o600)
	}
	writeConfig("ProxyJump bastion")
	// No keys but the config's, no known_hosts but the config's.
	opts := virt.DialOptions{SSHConfig: cfg, Timeout: 10 * time.Second}
	checkHost(t, dialRetry(t, "qemu+ssh://hv/system", opts))

	dial := func(uri string) string {
		t.Helper()
		c, err := virt.Dial(context.Background(), uri, opts)
		if err == nil {
			c.Close()
			return ""
		}
		return err.Error()
	}
	// The URI's port wins: the bastion reaches nothing there.
	if err := dial("qemu+ssh://hv:2299/system"); !strings.Contains(err, "hv at 127.0.0.1:2299: ssh: rejected: connect failed") ||
		!strings.Contains(err, "the previous hop could not open a connection to it") {
		t.Errorf("a port nothing listens on behind the bastion: %s", err)
	}
	// Without the jump, the hypervisor cannot be reached from here.
	writeConfig("")
	if err := dial("qemu+ssh://hv/system"); !strings.Contains(err, "connection refused") {
		t.Errorf("the hypervisor answered without the jump host: %s", err)
	}
	writeConfig("ProxyJump bastion")
	other := writeKey(t, filepath.Join(dir, "other"))
	os.WriteFile(known, []byte("10.231.7.2 "+other+"\n[127.0.0.1]:2223 "+hvPub+"\n"), 0o600)
	if err := dial("qemu+ssh://hv/system"); !strings.Contains(err, "ProxyJump hop 1 (bastion at 10.231.7.2:22): host key not trusted") {
		t.Errorf("the bastion's key changed: %s", err)
	}
	os.WriteFile(known, []byte("10.231.7.2 "+jumpPub+"\n[127.0.0.1]:2223 "+other+"\n"), 0o600)
	if err := dial("qemu+ssh://hv/system"); !strings.Contains(err, "hv at 127.0.0.1:2223: host key not trusted under the name 127.0.0.1:2223") ||
		strings.Contains(err, "ProxyJump hop") {
		t.Errorf("the hypervisor's key changed: %s", err)
	}
}
