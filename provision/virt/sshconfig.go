package virt

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// sshHost is one SSH endpoint after ~/.ssh/config: where to dial, as whom,
// which keys to offer and where its host key is pinned.
type sshHost struct {
	Name       string // as the user wrote it (an alias, maybe)
	HostName   string
	Port       string
	User       string
	Identities []string // IdentityFile, expanded
	KnownHosts []string // UserKnownHostsFile, expanded; empty: the default
	KeyAlias   string   // HostKeyAlias
}

// Addr is where to dial.
func (h sshHost) Addr() string { return net.JoinHostPort(h.HostName, h.Port) }

// KeyName is the name known_hosts pins the host's key under: HostKeyAlias,
// else the resolved host name and port, as OpenSSH looks it up.
func (h sshHost) KeyName() string {
	if h.KeyAlias != "" {
		return net.JoinHostPort(h.KeyAlias, "22")
	}
	return h.Addr()
}

// String names the host in errors: "hv at 10.0.0.5:22".
func (h sshHost) String() string {
	if h.Name == h.HostName {
		return h.Addr()
	}
	return h.Name + " at " + h.Addr()
}

// sshResolver reads an ssh_config file the way OpenSSH does for the keys
// kprov honours: HostName, User, Port, IdentityFile, UserKnownHostsFile,
// HostKeyAlias and ProxyJump.
type sshResolver struct {
	cfg       *ssh_config.Config // nil: no config file
	path      string
	home      string
	localUser string
}

// maxJumps bounds a ProxyJump chain (and so a loop of them).
const maxJumps = 8

// newSSHResolver reads the config at path (default ~/.ssh/config); a
// missing file is an empty config.
func newSSHResolver(path string) (*sshResolver, error) {
	home, _ := os.UserHomeDir()
	r := &sshResolver{path: path, home: home, localUser: os.Getenv("USER")}
	if r.path == "" {
		r.path = filepath.Join(home, ".ssh", "config")
	}
	if r.localUser == "" {
		r.localUser = "root"
	}
	b, err := os.ReadFile(r.path)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err == nil {
		r.cfg, err = ssh_config.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: %w (kprov reads Host, Match host and Match all blocks)", r.path, err)
	}
	return r, nil
}

// Route is the hosts to pass through to reach the URI's host, the last
// being that host. The URI's user and port win over the config's; a user
// set nowhere is root for the hypervisor and the local user for jump hosts,
// as with ssh.
func (r *sshResolver) Route(u *url.URL) ([]sshHost, error) {
	user := u.User.Username()
	route, err := r.route(u.Hostname(), user, u.Port(), 0)
	if err != nil {
		return nil, err
	}
	if t := &route[len(route)-1]; user == "" && r.get(u.Hostname(), "User") == "" {
		t.User = "root"
	}
	return route, nil
}

// route resolves name and its ProxyJump hops. Only the first hop's own
// ProxyJump applies, as with ssh -J a,b: b is reached through a.
func (r *sshResolver) route(name, user, port string, depth int) ([]sshHost, error) {
	if depth > maxJumps {
		return nil, fmt.Errorf("ProxyJump in %s: more than %d hops to reach %s; is there a loop?", r.path, maxJumps, name)
	}
	h := r.host(name, user, port)
	if cmd := r.get(name, "ProxyCommand"); cmd != "" && cmd != "none" && r.get(name, "ProxyJump") == "" {
		return nil, fmt.Errorf("%s: ProxyCommand for %s is not supported; write it as ProxyJump", r.path, name)
	}
	jumps, err := parseJumps(r.get(name, "ProxyJump"))
	if err != nil {
		return nil, fmt.Errorf("%s: ProxyJump for %s: %w", r.path, name, err)
	}
	if len(jumps) == 0 {
		return []sshHost{h}, nil
	}
	out, err := r.route(jumps[0].Name, jumps[0].User, jumps[0].Port, depth+1)
	if err != nil {
		return nil, err
	}
	for _, j := range jumps[1:] {
		out = append(out, r.host(j.Name, j.User, j.Port))
	}
	if len(out) > maxJumps {
		return nil, fmt.Errorf("ProxyJump in %s: more than %d hops to reach %s; is there a loop?", r.path, maxJumps, name)
	}
	return append(out, h), nil
}

// host resolves one name; user and port, when set, win over the config's.
func (r *sshResolver) host(name, user, port string) sshHost {
	h := sshHost{Name: name, HostName: name, Port: port, User: user}
	if v := r.get(name, "HostName"); v != "" {
		h.HostName = strings.ReplaceAll(strings.ReplaceAll(v, "%h", name), "%%", "%")
	}
	if h.Port == "" {
		h.Port = r.get(name, "Port")
	}
	if h.Port == "" {
		h.Port = "22"
	}
	if h.User == "" {
		h.User = r.get(name, "User")
	}
	if h.User == "" {
		h.User = r.localUser
	}
	h.KeyAlias = r.get(name, "HostKeyAlias")
	if r.cfg != nil {
		ids, _ := r.cfg.GetAll(name, "IdentityFile")
		for _, id := range ids {
			if id != "none" {
				h.Identities = append(h.Identities, r.expand(id, h))
			}
		}
	}
	for _, f := range strings.Fields(r.get(name, "UserKnownHostsFile")) {
		h.KnownHosts = append(h.KnownHosts, r.expand(f, h))
	}
	return h
}

// get is the first value of key for the host alias, "" if none.
func (r *sshResolver) get(alias, key string) string {
	if r.cfg == nil {
		return ""
	}
	v, _ := r.cfg.Get(alias, key)
	return v
}

// expand replaces ~ and ssh's %d %u %h %r %p %% tokens in a file name.
func (r *sshResolver) expand(s string, h sshHost) string {
	if s == "~" || strings.HasPrefix(s, "~/") {
		s = r.home + s[1:]
	}
	return strings.NewReplacer("%d", r.home, "%u", r.localUser, "%h", h.HostName,
		"%r", h.User, "%p", h.Port, "%%", "%").Replace(s)
}

// jump is one ProxyJump hop: [user@]host[:port] or ssh://[user@]host[:port].
type jump struct{ Name, User, Port string }

func parseJumps(v string) ([]jump, error) {
	if v == "" || v == "none" {
		return nil, nil
	}
	var out []jump
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if !strings.HasPrefix(s, "ssh://") {
			s = "ssh://" + s
		}
		u, err := url.Parse(s)
		if err != nil || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("hop %q is not [user@]host[:port]", strings.TrimPrefix(s, "ssh://"))
		}
		out = append(out, jump{Name: u.Hostname(), User: u.User.Username(), Port: u.Port()})
	}
	return out, nil
}
