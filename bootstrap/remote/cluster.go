package remote

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// LogDir is the folder of the node logs, relative to the state folder.
const LogDir = "logs"

// Targets are the nodes on port 22, each with the host key kprov gave it.
func Targets(nodes []plan.Node, s *state.Secrets) ([]Target, error) {
	out := make([]Target, 0, len(nodes))
	for _, n := range nodes {
		hk, ok := s.HostKeys[n.Name]
		if !ok {
			return nil, fmt.Errorf("node %s: no host key in the state folder", n.Name)
		}
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hk.Public))
		if err != nil {
			return nil, fmt.Errorf("node %s: host key in the state folder: %w", n.Name, err)
		}
		out = append(out, Target{Name: n.Name, Addr: addr(n.IP, 22), HostKey: key})
	}
	return out, nil
}

func addr(ip netip.Addr, port int) string { return net.JoinHostPort(ip.String(), strconv.Itoa(port)) }

// KnownHostsKey is the key a known_hosts file (state.KnownHostsFile)
// pins for host, a node name or address.
func KnownHostsKey(path, host string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		_, hosts, key, _, _, err := ssh.ParseKnownHosts(sc.Bytes())
		if err != nil {
			continue // blank or comment
		}
		for _, h := range hosts {
			if h == host {
				return key, nil
			}
		}
	}
	return nil, fmt.Errorf("%s pins no host key for %s", path, host)
}

// Auth logs in with privateKey (skipped when passphrase-protected) and
// then with the keys of the ssh-agent at agentSock, when set. Close the
// returned closer when done.
func Auth(privateKey []byte, agentSock string) ([]ssh.AuthMethod, func(), error) {
	var auth []ssh.AuthMethod
	closer := func() {}
	if len(privateKey) > 0 {
		signer, err := ssh.ParsePrivateKey(privateKey)
		var missing *ssh.PassphraseMissingError
		switch {
		case err == nil:
			auth = append(auth, ssh.PublicKeys(signer))
		case errors.As(err, &missing):
			if agentSock == "" {
				return nil, closer, fmt.Errorf("the SSH key is passphrase-protected and no ssh-agent runs (SSH_AUTH_SOCK is unset): run ssh-add")
			}
		default:
			return nil, closer, fmt.Errorf("SSH key: %w", err)
		}
	}
	if agentSock != "" {
		c, err := net.Dial("unix", agentSock)
		if err != nil {
			if len(auth) == 0 {
				return nil, closer, fmt.Errorf("ssh-agent at SSH_AUTH_SOCK: %w", err)
			}
		} else {
			auth = append(auth, ssh.PublicKeysCallback(agent.NewClient(c).Signers))
			closer = func() { c.Close() }
		}
	}
	if len(auth) == 0 {
		return nil, closer, fmt.Errorf("no SSH key to log in with")
	}
	return auth, closer, nil
}

// ClusterConfig is the engine configuration of a cluster: the spec's ssh
// user, the state folder's key (or the spec's) and the ssh-agent, the
// spec's bastion, logs in <stateDir>/logs, and the cluster's secrets
// redacted. specDir resolves relative key paths. Close the closer.
func ClusterConfig(c *spec.Cluster, specDir, stateDir string, s *state.Secrets, agentSock string) (Config, func(), error) {
	auth, closer, err := Auth(s.SSHPrivateKey, agentSock)
	if err != nil {
		return Config{}, closer, err
	}
	cfg := Config{
		User:    c.SSH.User,
		Auth:    auth,
		LogDir:  filepath.Join(stateDir, LogDir),
		Secrets: SecretsOf(s),
	}
	if b := c.SSH.Bastion; b != nil {
		key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(b.HostKey))
		if err != nil {
			closer()
			return Config{}, func() {}, fmt.Errorf("ssh.bastion.host_key: %w", err)
		}
		cfg.Bastion = &Bastion{Addr: net.JoinHostPort(b.Host, strconv.Itoa(b.Port)), User: b.User, HostKey: key}
		if b.PrivateKey != "" {
			pem, err := os.ReadFile(expand(b.PrivateKey, specDir))
			if err != nil {
				closer()
				return Config{}, func() {}, fmt.Errorf("ssh.bastion.private_key: %w", err)
			}
			bauth, bclose, err := Auth(pem, agentSock)
			prev := closer
			closer = func() { prev(); bclose() }
			if err != nil {
				closer()
				return Config{}, func() {}, fmt.Errorf("ssh.bastion.private_key: %w", err)
			}
			cfg.Bastion.Auth = bauth
		}
	}
	return cfg, closer, nil
}

// SecretsOf lists what must never reach a log: the join credentials and
// every private key.
func SecretsOf(s *state.Secrets) []string {
	out := []string{s.BootstrapToken, s.CertificateKey, string(s.SSHPrivateKey), string(s.CAKey)}
	for _, hk := range s.HostKeys {
		out = append(out, string(hk.Private))
	}
	return out
}

func expand(path, dir string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(path) {
		return filepath.Join(dir, path)
	}
	return path
}
