package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/internal/proctree"
)

// host is one sshd test host on 10.91.1.<i>:22 in the bench namespace;
// Root is its own folder, standing for its disk.
type host struct {
	Name, IP, Root string
	Key            ssh.PublicKey
	cmd            *exec.Cmd
}

func newKey(path string) (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	return ssh.NewSignerFromKey(priv)
}

// startHosts starts n sshd processes letting user in with client.
func startHosts(work string, n int, client ssh.PublicKey) ([]*host, error) {
	var hosts []*host
	for i := 1; i <= n; i++ {
		h := &host{Name: fmt.Sprintf("h%02d", i), IP: fmt.Sprintf("10.91.1.%d", i)}
		h.Root = filepath.Join(work, "roots", h.Name)
		dir := filepath.Join(work, "sshd", h.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return hosts, err
		}
		if out, err := exec.Command("ip", "addr", "replace", h.IP+"/32", "dev", "lo").CombinedOutput(); err != nil {
			return hosts, fmt.Errorf("ip addr: %v: %s", err, out)
		}
		signer, err := newKey(filepath.Join(dir, "host_key"))
		if err != nil {
			return hosts, err
		}
		h.Key = signer.PublicKey()
		os.WriteFile(filepath.Join(dir, "authorized_keys"), ssh.MarshalAuthorizedKey(client), 0o644)
		cfg := fmt.Sprintf("ListenAddress %s:22\nHostKey %s/host_key\nPidFile none\nUsePAM no\nStrictModes no\n"+
			"AuthorizedKeysFile %s/authorized_keys\nMaxStartups 200\nLogLevel ERROR\n", h.IP, dir, dir)
		os.WriteFile(filepath.Join(dir, "sshd_config"), []byte(cfg), 0o600)
		h.cmd = exec.Command("/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd_config"))
		h.cmd.Stderr = os.Stderr
		if err := h.cmd.Start(); err != nil {
			return hosts, err
		}
		hosts = append(hosts, h)
	}
	for _, h := range hosts {
		if err := waitListen(h.IP + ":22"); err != nil {
			return hosts, err
		}
	}
	return hosts, nil
}

func waitListen(addr string) error {
	for range 250 {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("sshd on %s did not listen within 5s", addr)
}

// stopHosts kills every sshd and what runs under it, by PID.
func stopHosts(hosts []*host) {
	for _, h := range hosts {
		proctree.Kill(h.cmd.Process.Pid)
		h.cmd.Wait()
	}
}

// reset gives every host an empty root with the skeleton folders.
func reset(hosts []*host) error {
	for _, h := range hosts {
		if err := os.RemoveAll(h.Root); err != nil {
			return err
		}
		for _, d := range skeleton {
			if err := os.MkdirAll(filepath.Join(h.Root, d), 0o755); err != nil {
				return err
			}
		}
	}
	return nil
}

// check verifies every host ended in the wanted state, lines not repeated.
func check(hosts []*host) error {
	for _, h := range hosts {
		at := func(rel string) string { return filepath.Join(h.Root, rel) }
		for rel, want := range map[string]string{"etc/kprov/config.conf": configBody, "etc/sysctl.d/90-kprov.conf": sysctlBody,
			"etc/modules-load.d/kprov.conf": modules, "etc/kprov/secret": secretBody, "opt/kprov/VERSION": version,
			"etc/hosts.extra": "10.0.0.10 cp-1\n", "etc/motd": "This node is managed by kprov\n"} {
			if b, err := os.ReadFile(at(rel)); err != nil || string(b) != want {
				return fmt.Errorf("%s: %s is %q (%v)", h.Name, rel, b, err)
			}
		}
		if fi, err := os.Stat(at("etc/kprov/secret")); err != nil || fi.Mode().Perm() != 0o600 {
			return fmt.Errorf("%s: secret mode wrong (%v)", h.Name, err)
		}
		if fi, err := os.Stat(at("var/lib/kprov")); err != nil || fi.Mode().Perm() != 0o700 {
			return fmt.Errorf("%s: var/lib/kprov mode wrong (%v)", h.Name, err)
		}
		if t, err := os.Readlink(at("usr/local/bin/kprov.conf")); err != nil || t != at("etc/kprov/config.conf") {
			return fmt.Errorf("%s: link is %q (%v)", h.Name, t, err)
		}
	}
	return nil
}
