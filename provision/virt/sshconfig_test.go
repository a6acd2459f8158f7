package virt

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kevinburke/ssh_config"
	"golang.org/x/crypto/ssh"
)

const testSSHConfig = `
Host hv
  HostName 10.0.0.5
  Port 2200
  User admin
  IdentityFile ~/.ssh/hv_key
  IdentityFile %d/keys/%r@%h
  UserKnownHostsFile ~/.ssh/hv_known /etc/kh
  ProxyJump bastion

Host bastion
  HostName bastion.example.test
  User jumper
  IdentityFile ~/.ssh/jump

Host two
  ProxyJump outer,ops@inner:2022

Host outer
  ProxyJump bastion

Host inner
  HostName 192.168.9.9
  Port 22
  User nobody

Host *-alias
  HostName %h.internal

Host loop
  ProxyJump loop

Host pc
  ProxyCommand nc %h %p

Host bad
  ProxyJump host/path

Host keyed
  HostKeyAlias hv-key
  ProxyJump none
`

// The ssh config resolves the URI host and its ProxyJump hops, with the
// URI's user and port winning and each hop resolved through the config.
func TestSSHConfigRoute(t *testing.T) {
	cfg, err := ssh_config.Decode(strings.NewReader(testSSHConfig))
	if err != nil {
		t.Fatal(err)
	}
	r := &sshResolver{cfg: cfg, path: "cfg", home: "/home/me", localUser: "me"}
	bastion := sshHost{Name: "bastion", HostName: "bastion.example.test", Port: "22", User: "jumper",
		Identities: []string{"/home/me/.ssh/jump"}}
	for _, tc := range []struct {
		uri  string
		want []sshHost
		err  string
	}{
		{uri: "qemu+ssh://plain.test/system",
			want: []sshHost{{Name: "plain.test", HostName: "plain.test", Port: "22", User: "root"}}},
		{uri: "qemu+ssh://hv/system", want: []sshHost{bastion, {Name: "hv", HostName: "10.0.0.5", Port: "2200", User: "admin",
			Identities: []string{"/home/me/.ssh/hv_key", "/home/me/keys/admin@10.0.0.5"},
			KnownHosts: []string{"/home/me/.ssh/hv_known", "/etc/kh"}}}},
		// The URI's user and port win over the config's.
		{uri: "qemu+ssh://ops@hv:2300/system", want: []sshHost{bastion, {Name: "hv", HostName: "10.0.0.5", Port: "2300", User: "ops",
			Identities: []string{"/home/me/.ssh/hv_key", "/home/me/keys/ops@10.0.0.5"},
			KnownHosts: []string{"/home/me/.ssh/hv_known", "/etc/kh"}}}},
		// The first hop's own ProxyJump applies; a hop's user and port win.
		{uri: "qemu+ssh://two/system", want: []sshHost{bastion,
			{Name: "outer", HostName: "outer", Port: "22", User: "me"},
			{Name: "inner", HostName: "192.168.9.9", Port: "2022", User: "ops"},
			{Name: "two", HostName: "two", Port: "22", User: "root"}}},
		{uri: "qemu+ssh://x-alias/system", want: []sshHost{{Name: "x-alias", HostName: "x-alias.internal", Port: "22", User: "root"}}},
		{uri: "qemu+ssh://keyed/system", want: []sshHost{{Name: "keyed", HostName: "keyed", Port: "22", User: "root", KeyAlias: "hv-key"}}},
		{uri: "qemu+ssh://loop/system", err: "ProxyJump in cfg: more than 8 hops to reach loop; is there a loop?"},
		{uri: "qemu+ssh://pc/system", err: "cfg: ProxyCommand for pc is not supported; write it as ProxyJump"},
		{uri: "qemu+ssh://bad/system", err: `cfg: ProxyJump for bad: hop "host/path" is not [user@]host[:port]`},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			u, _ := url.Parse(tc.uri)
			got, err := r.Route(u)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("got %v, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v\nwant %+v", got, err, tc.want)
			}
		})
	}
}

// Known hosts are looked up under the resolved name and port, or the
// HostKeyAlias; errors name the host as written and where it resolved.
func TestSSHConfigNames(t *testing.T) {
	for _, tc := range []struct {
		h             sshHost
		key, describe string
	}{
		{sshHost{Name: "hv", HostName: "10.0.0.5", Port: "2200"}, "10.0.0.5:2200", "hv at 10.0.0.5:2200"},
		{sshHost{Name: "10.0.0.5", HostName: "10.0.0.5", Port: "22"}, "10.0.0.5:22", "10.0.0.5:22"},
		{sshHost{Name: "hv", HostName: "10.0.0.5", Port: "2200", KeyAlias: "hvkey"}, "hvkey:22", "hv at 10.0.0.5:2200"},
		{sshHost{Name: "v6", HostName: "fd00::5", Port: "22"}, "[fd00::5]:22", "v6 at [fd00::5]:22"},
	} {
		if k, d := tc.h.KeyName(), tc.h.String(); k != tc.key || d != tc.describe {
			t.Errorf("%+v: KeyName %q, String %q; want %q, %q", tc.h, k, d, tc.key, tc.describe)
		}
	}
}

// A missing config file is an empty one; a broken one is an error naming it.
func TestSSHConfigFile(t *testing.T) {
	dir := t.TempDir()
	r, err := newSSHResolver(filepath.Join(dir, "none"))
	if err != nil || r.cfg != nil {
		t.Fatalf("missing file: %+v, %v", r, err)
	}
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("Host a\n  Match exec \"x\"\n"), 0o600)
	if _, err := newSSHResolver(bad); err == nil || !strings.HasPrefix(err.Error(), "ssh config "+bad+": ") {
		t.Errorf("broken file: %v", err)
	}
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("Host a\n  HostName b\n"), 0o600)
	r, err = newSSHResolver(good)
	if err != nil || r.host("a", "", "").HostName != "b" {
		t.Errorf("good file: %+v, %v", r, err)
	}
}

// IdentityFile keys: unencrypted ones are used, encrypted ones are left to
// ssh-agent with a message saying so, missing ones are skipped.
func TestSSHConfigIdentities(t *testing.T) {
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	write := func(name string, b *pem.Block, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, pem.EncodeToMemory(b), 0o600)
		return p
	}
	b, err := ssh.MarshalPrivateKey(priv, "")
	plain := write("plain", b, err)
	b, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("secret"))
	locked := write("locked", b, err)
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("not a key"), 0o600)

	signers, enc, err := identities([]string{filepath.Join(dir, "missing"), plain, locked})
	if err != nil || len(signers) != 1 || !reflect.DeepEqual(enc, []string{locked}) {
		t.Fatalf("signers %d, locked %v, %v", len(signers), enc, err)
	}
	if hint := keyHint(enc); !strings.Contains(hint, "IdentityFile "+locked+" is encrypted") || !strings.Contains(hint, "ssh-add "+locked) {
		t.Errorf("hint: %s", hint)
	}
	if _, _, err := identities([]string{junk}); err == nil || !strings.HasPrefix(err.Error(), "IdentityFile "+junk+": ") {
		t.Errorf("junk key: %v", err)
	}
}

// known_hosts: the explicit file wins, else the config's files that exist.
func TestSSHConfigKnownHosts(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(b, nil, 0o600)
	for _, tc := range []struct {
		explicit string
		cfg      []string
		want     []string
	}{
		{"/x", []string{b}, []string{"/x"}},
		{"", []string{a, b}, []string{b}},
		{"", []string{a}, []string{a}},
	} {
		if got := knownHostsFiles(tc.explicit, tc.cfg); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("knownHostsFiles(%q, %v) = %v, want %v", tc.explicit, tc.cfg, got, tc.want)
		}
	}
}
