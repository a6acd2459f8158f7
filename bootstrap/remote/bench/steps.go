package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"

	"github.com/kprov/kprov/bootstrap/remote"
)

// The ten steps, for kprov's engine and (playbook.yml) for Ansible: the
// same files, lines, folders and link under each host's own root d.
const (
	configBody = "# managed by kprov\nlisten = 0.0.0.0:6443\nlog_level = info\n"
	sysctlBody = "net.ipv4.ip_forward = 1\nnet.bridge.bridge-nf-call-iptables = 1\n"
	modules    = "overlay\nbr_netfilter\n"
	secretBody = "token = not-really-a-secret\n"
	version    = "1.0\n"
)

// step is one idempotent ensure: it looks first and acts only on a
// difference, as kprov's phases do.
type step func(ctx context.Context, n remote.Node, d string) error

func steps() []step {
	return []step{
		dir("etc/kprov", 0o755),
		file("etc/kprov/config.conf", configBody, 0o644),
		line("etc/hosts.extra", "10.0.0.10 cp-1"),
		file("etc/sysctl.d/90-kprov.conf", sysctlBody, 0o644),
		link("usr/local/bin/kprov.conf", "etc/kprov/config.conf"),
		dir("var/lib/kprov", 0o700),
		file("etc/modules-load.d/kprov.conf", modules, 0o644),
		line("etc/motd", "This node is managed by kprov"),
		file("etc/kprov/secret", secretBody, 0o600),
		file("opt/kprov/VERSION", version, 0o644),
	}
}

func dir(rel string, mode fs.FileMode) step {
	return func(ctx context.Context, n remote.Node, d string) error {
		p := remote.Quote(d + "/" + rel)
		_, err := n.Run(ctx, fmt.Sprintf(`[ -d %s ] && [ "$(stat -c %%a %s)" = %o ] || install -d -m %04o %s`, p, p, mode, mode, p))
		return err
	}
}

// file compares the remote sha256 and mode, and uploads only on a change.
func file(rel, body string, mode fs.FileMode) step {
	sum := sha256.Sum256([]byte(body))
	want := fmt.Sprintf("%s %o", hex.EncodeToString(sum[:]), mode)
	return func(ctx context.Context, n remote.Node, d string) error {
		p := d + "/" + rel
		q := remote.Quote(p)
		out, err := n.Run(ctx, fmt.Sprintf(`[ -f %s ] && echo "$(sha256sum < %s | cut -d' ' -f1) $(stat -c %%a %s)" || mkdir -p "$(dirname %s)"`, q, q, q, q))
		if err != nil || strings.TrimSpace(out) == want {
			return err
		}
		return n.Upload(ctx, p, []byte(body), mode)
	}
}

func line(rel, text string) step {
	return func(ctx context.Context, n remote.Node, d string) error {
		p, l := remote.Quote(d+"/"+rel), remote.Quote(text)
		_, err := n.Run(ctx, fmt.Sprintf(`grep -qxF %s %s 2>/dev/null || { mkdir -p "$(dirname %s)" && echo %s >> %s; }`, l, p, p, l, p))
		return err
	}
}

func link(rel, target string) step {
	return func(ctx context.Context, n remote.Node, d string) error {
		p, t := remote.Quote(d+"/"+rel), remote.Quote(d+"/"+target)
		_, err := n.Run(ctx, fmt.Sprintf(`[ "$(readlink %s)" = %s ] || { mkdir -p "$(dirname %s)" && ln -sfn %s %s; }`, p, t, p, t, p))
		return err
	}
}

// skeleton are the folders both tools find on every host (Ansible's copy
// does not create parents).
var skeleton = []string{"etc/sysctl.d", "etc/modules-load.d", "usr/local/bin", "opt/kprov"}

// playbook is the same ten steps for Ansible's builtin modules.
func playbook() string {
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return `- hosts: all
  gather_facts: false
  become: true
  tasks:
    - file: {path: "{{ d }}/etc/kprov", state: directory, mode: "0755"}
    - copy: {dest: "{{ d }}/etc/kprov/config.conf", content: ` + q(configBody) + `, mode: "0644"}
    - lineinfile: {path: "{{ d }}/etc/hosts.extra", line: "10.0.0.10 cp-1", create: true}
    - copy: {dest: "{{ d }}/etc/sysctl.d/90-kprov.conf", content: ` + q(sysctlBody) + `, mode: "0644"}
    - file: {path: "{{ d }}/usr/local/bin/kprov.conf", src: "{{ d }}/etc/kprov/config.conf", state: link}
    - file: {path: "{{ d }}/var/lib/kprov", state: directory, mode: "0700"}
    - copy: {dest: "{{ d }}/etc/modules-load.d/kprov.conf", content: ` + q(modules) + `, mode: "0644"}
    - lineinfile: {path: "{{ d }}/etc/motd", line: "This node is managed by kprov", create: true}
    - copy: {dest: "{{ d }}/etc/kprov/secret", content: ` + q(secretBody) + `, mode: "0600"}
    - copy: {dest: "{{ d }}/opt/kprov/VERSION", content: ` + q(version) + `, mode: "0644"}
`
}
