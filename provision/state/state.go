package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kprov/kprov/provision/cache"
)

// Paths of the state files, relative to the state folder (see the package
// doc).
const (
	SSHKeyFile         = "ssh/id_ed25519"
	SSHPublicKeyFile   = "ssh/id_ed25519.pub"
	HostKeysDir        = "ssh/hosts"
	TokenFile          = "kubeadm/token"
	CertificateKeyFile = "kubeadm/certificate-key"
	CACertFile         = "pki/ca.crt"
	CAKeyFile          = "pki/ca.key"
	// KubeconfigFile is the admin kubeconfig fetched after kubeadm init.
	KubeconfigFile = "kubeconfig"
	// TunnelKubeconfigFile is kprov tunnel's copy of it, for its local port.
	TunnelKubeconfigFile = "kubeconfig-tunnel"
)

// DefaultDir is the state folder of a cluster: $KPROV_STATE_DIR/<cluster>,
// else $XDG_STATE_HOME/kprov/<cluster>, else ~/.local/state/kprov/<cluster>.
func DefaultDir(cluster string) string {
	return defaultDir(cluster, os.Getenv, os.UserHomeDir)
}

func defaultDir(cluster string, getenv func(string) string, home func() (string, error)) string {
	if d := getenv("KPROV_STATE_DIR"); d != "" {
		return filepath.Join(d, cluster)
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "kprov", cluster)
	}
	h, err := home()
	if err != nil || h == "" {
		// No home: a relative folder still keeps clusters apart.
		h = "."
	}
	return filepath.Join(h, ".local", "state", "kprov", cluster)
}

// Ensure creates the state folder of cluster in dir if missing, generates
// every secret that is missing (a host key for each of nodeNames) and loads
// them all. Existing files are never rewritten, so a second call returns
// the same bytes.
func Ensure(dir, cluster string, nodeNames []string) (*Secrets, error) {
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	at := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	comment := "kprov-" + cluster
	if err := ensureFile(at(SSHKeyFile), func() ([]byte, error) { return newSSHKey(comment) }); err != nil {
		return nil, err
	}
	if err := ensureFile(at(SSHPublicKeyFile), func() ([]byte, error) {
		priv, err := readSecret(at(SSHKeyFile))
		if err != nil {
			return nil, err
		}
		line, err := authorizedKey(priv, comment)
		return []byte(line + "\n"), err
	}); err != nil {
		return nil, err
	}
	for _, n := range nodeNames {
		if err := checkNodeName(n); err != nil {
			return nil, err
		}
		if err := ensureFile(at(HostKeysDir+"/"+n), func() ([]byte, error) { return newSSHKey("") }); err != nil {
			return nil, err
		}
	}
	if err := ensureFile(at(TokenFile), line(newToken)); err != nil {
		return nil, err
	}
	if err := ensureFile(at(CertificateKeyFile), line(newCertificateKey)); err != nil {
		return nil, err
	}
	// The key is written first: a crash between the two writes leaves a key
	// without a certificate, which is regenerated, never the other way.
	if _, err := os.Lstat(at(CACertFile)); errors.Is(err, fs.ErrNotExist) {
		cert, key, err := newCA(time.Now())
		if err != nil {
			return nil, fmt.Errorf("generate cluster CA: %w", err)
		}
		if err := writeSecret(at(CAKeyFile), key); err != nil {
			return nil, err
		}
		if err := writeSecret(at(CACertFile), cert); err != nil {
			return nil, err
		}
	}
	return Load(dir)
}

func line(gen func() (string, error)) func() ([]byte, error) {
	return func() ([]byte, error) {
		s, err := gen()
		return []byte(s + "\n"), err
	}
}

// checkNodeName refuses names that are not a single path element.
func checkNodeName(n string) error {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\`) || strings.HasPrefix(n, ".") {
		return fmt.Errorf("node name %q cannot name a host key file", n)
	}
	return nil
}

// Load reads the secrets of a state folder made by Ensure, checking modes
// and formats. Every host key found is returned, including those of nodes
// that no longer exist.
func Load(dir string) (*Secrets, error) {
	if err := ensureDirMode(dir); err != nil {
		return nil, err
	}
	at := func(rel string) string { return filepath.Join(dir, filepath.FromSlash(rel)) }
	var s Secrets
	var err error
	if s.SSHPrivateKey, err = readSecret(at(SSHKeyFile)); err != nil {
		return nil, err
	}
	pub, err := readLine(at(SSHPublicKeyFile))
	if err != nil {
		return nil, err
	}
	derived, err := authorizedKey(s.SSHPrivateKey, "")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", at(SSHKeyFile), err)
	}
	if pub != derived && !strings.HasPrefix(pub, derived+" ") {
		return nil, fmt.Errorf("%s does not match %s: delete the .pub file to derive it again", at(SSHPublicKeyFile), at(SSHKeyFile))
	}
	s.SSHAuthorizedKey = pub
	if s.HostKeys, err = loadHostKeys(at(HostKeysDir)); err != nil {
		return nil, err
	}
	if s.BootstrapToken, err = readLine(at(TokenFile)); err != nil {
		return nil, err
	}
	if !validToken(s.BootstrapToken) {
		return nil, fmt.Errorf("%s is not a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}): delete it to generate a new one", at(TokenFile))
	}
	if s.CertificateKey, err = readLine(at(CertificateKeyFile)); err != nil {
		return nil, err
	}
	if !validCertificateKey(s.CertificateKey) {
		return nil, fmt.Errorf("%s is not 64 lowercase hex characters: delete it to generate a new one", at(CertificateKeyFile))
	}
	if s.CACert, err = readSecret(at(CACertFile)); err != nil {
		return nil, err
	}
	if s.CAKey, err = readSecret(at(CAKeyFile)); err != nil {
		return nil, err
	}
	if err := checkCA(s.CACert, s.CAKey); err != nil {
		return nil, fmt.Errorf("cluster CA in %s: %w", at("pki"), err)
	}
	return &s, nil
}

// ensureDirMode checks an existing folder's mode without creating it.
func ensureDirMode(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("state folder: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("state folder %s is not a directory", dir)
	}
	return ensureDir(dir)
}

func readLine(path string) (string, error) {
	b, err := readSecret(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

func loadHostKeys(dir string) (map[string]HostKey, error) {
	keys := map[string]HostKey{}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return keys, nil
	}
	if err != nil {
		return nil, err
	}
	if err := ensureDirMode(dir); err != nil {
		return nil, err
	}
	for _, e := range entries {
		// Skip leftovers of an interrupted atomic write.
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		priv, err := readSecret(path)
		if err != nil {
			return nil, err
		}
		pub, err := authorizedKey(priv, "")
		if err != nil {
			return nil, fmt.Errorf("host key %s: %w", path, err)
		}
		keys[e.Name()] = HostKey{Private: priv, Public: pub}
	}
	return keys, nil
}

// CacheDir is kprov's cache folder sub (cache.Dir).
func CacheDir(sub string, getenv func(string) string) string { return cache.Dir(sub, getenv) }
