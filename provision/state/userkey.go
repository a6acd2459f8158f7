package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

// UseKey makes s log in with the user's own key at path (the spec's
// ssh.private_key) instead of the generated one: the public half goes into
// every node's authorized keys. It reads path.pub when present, which works
// for passphrase-protected keys, else derives it from the private key.
// "~/" is the user's home.
func UseKey(s *Secrets, path string) error {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("ssh.private_key %s: %w", path, err)
		}
		path = filepath.Join(home, rest)
	}
	priv, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("ssh.private_key: %w; point it at an existing key or remove it to let kprov generate one", err)
	}
	if pub, err := os.ReadFile(path + ".pub"); err == nil {
		key, comment, _, _, err := ssh.ParseAuthorizedKey(pub)
		if err != nil {
			return fmt.Errorf("ssh.private_key: %s.pub: %w", path, err)
		}
		s.SSHPrivateKey, s.SSHAuthorizedKey = priv, authorizedLine(key, comment)
		return nil
	}
	signer, err := ssh.ParsePrivateKey(priv)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		return fmt.Errorf("ssh.private_key %s is passphrase-protected and has no %s.pub beside it; add the .pub file", path, path)
	}
	if err != nil {
		return fmt.Errorf("ssh.private_key %s: %w", path, err)
	}
	s.SSHPrivateKey, s.SSHAuthorizedKey = priv, authorizedLine(signer.PublicKey(), "")
	return nil
}

func authorizedLine(key ssh.PublicKey, comment string) string {
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
	if comment != "" {
		line += " " + comment
	}
	return line
}
