package secrets

import (
	"bytes"
	"sort"
	"strings"
)

// Leaks names the secrets of s that appear in text: the bootstrap token
// (or its secret half), the certificate key, and any line of a private
// key's or the CA key's body. Tests grep logs and output with it.
func (s *Secrets) Leaks(text []byte) []string {
	found := map[string]bool{}
	has := func(what, needle string) {
		if needle != "" && bytes.Contains(text, []byte(needle)) {
			found[what] = true
		}
	}
	if _, secret, ok := strings.Cut(s.BootstrapToken, "."); ok {
		has("bootstrap token", secret)
	}
	has("certificate key", s.CertificateKey)
	pem := func(what string, key []byte) {
		for _, line := range strings.Split(string(key), "\n") {
			// Body lines of the PEM block, long enough to be the key's own.
			if len(line) >= 32 && !strings.HasPrefix(line, "-----") {
				has(what, line)
			}
		}
	}
	pem("SSH client private key", s.SSHPrivateKey)
	pem("CA private key", s.CAKey)
	for name, k := range s.HostKeys {
		pem("host private key of "+name, k.Private)
	}
	var out []string
	for w := range found {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}
