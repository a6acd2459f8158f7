package judge

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/internal/sshdtest"
)

// StartSSHD runs a real sshd for the test (sshdtest.Start), found as Need
// finds programs, and kills it, by PID, when the test ends, logging what
// it said if the test failed. An empty c.Dir is a new folder of the
// test's that every user can read.
func StartSSHD(t testing.TB, c sshdtest.Config) *sshdtest.Server {
	t.Helper()
	if c.Program == "" {
		c.Program = Need(t, "sshd", "openssh-server")
	}
	if c.Dir == "" {
		c.Dir = t.TempDir()
		// sshd reads authorized_keys as the user logging in.
		os.Chmod(filepath.Dir(c.Dir), 0o755)
	}
	s, err := sshdtest.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("sshd on %s said:\n%s", s.Addr, s.Logs())
		}
	})
	return s
}

// SSHKey writes a new ed25519 private key (OpenSSH PEM, mode 0600) to
// path and returns the PEM and its signer.
func SSHKey(t testing.TB, path string) ([]byte, ssh.Signer) {
	t.Helper()
	pem, signer, err := sshdtest.NewKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return pem, signer
}
