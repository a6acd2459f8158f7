package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/internal/sshdtest"
)

// host is one sshd test host on 10.91.1.<i>:22 in the bench namespace;
// Root is its own folder, standing for its disk.
type host struct {
	Name, IP, Root string
	Key            ssh.PublicKey
	sshd           *sshdtest.Server
}

// startHosts starts n sshd processes letting user in with client.
func startHosts(work string, n int, client ssh.PublicKey) ([]*host, error) {
	var hosts []*host
	for i := 1; i <= n; i++ {
		h := &host{Name: fmt.Sprintf("h%02d", i), IP: fmt.Sprintf("10.91.1.%d", i)}
		h.Root = filepath.Join(work, "roots", h.Name)
		s, err := sshdtest.Start(sshdtest.Config{Dir: filepath.Join(work, "sshd", h.Name), Listen: h.IP + ":22",
			Loopback: true, AuthorizedKeys: ssh.MarshalAuthorizedKey(client)})
		if err != nil {
			return hosts, err
		}
		h.Key, h.sshd = s.HostKey, s
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// stopHosts kills every sshd and what runs under it, by PID; after a
// failure it first prints the end of what each said.
func stopHosts(hosts []*host, failed bool) {
	for _, h := range hosts {
		if failed {
			fmt.Fprintf(os.Stderr, "sshd %s said, last:\n%s\n", h.Name, lastLines(h.sshd.Logs(), 5))
		}
		h.sshd.Kill()
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
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
