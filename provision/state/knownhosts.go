package state

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/kprov/kprov/provision/plan"
)

// KnownHostsFile pins every node's host key for OpenSSH clients.
const KnownHostsFile = "ssh/known_hosts"

// WriteKnownHosts writes the known_hosts file of the cluster's nodes (by
// address and by name) into the state folder and returns its path.
func WriteKnownHosts(dir string, nodes []plan.Node, s *Secrets) (string, error) {
	var lines []string
	for _, n := range nodes {
		hk, ok := s.HostKeys[n.Name]
		if !ok {
			return "", fmt.Errorf("no host key for node %s in %s", n.Name, dir)
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(hk.Public))
		if err != nil {
			return "", fmt.Errorf("host key of node %s: %w", n.Name, err)
		}
		lines = append(lines, knownhosts.Line([]string{n.IP.String(), n.Name}, pub))
	}
	sort.Strings(lines)
	path := filepath.Join(dir, filepath.FromSlash(KnownHostsFile))
	return path, writeSecret(path, []byte(strings.Join(lines, "\n")+"\n"))
}
