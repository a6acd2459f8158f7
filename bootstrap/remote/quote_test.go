package remote

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// hostile are strings a naive quote would let the shell interpret.
var hostile = []string{
	"",
	"plain",
	"it's",
	`'`,
	`''`,
	`"double" and 'single'`,
	`$(touch PWNED)`,
	"`touch PWNED`",
	`$HOME ${PATH} $0 $$ $?`,
	"line one\nline two\n",
	`back\slash \' \" \\`,
	"; touch PWNED; #",
	"a && touch PWNED || touch PWNED",
	"tab\tand\x01control",
	"* ? [a-z] ~ ! %",
	`'"'"'$(touch PWNED)'"'"'`,
	"ünïcödé ✓",
}

// Each hostile string survives one and two rounds of sh -c unchanged, and
// runs nothing.
func TestQuote(t *testing.T) {
	for _, s := range hostile {
		dir := t.TempDir()
		cmd := "printf %s " + Quote(s)
		for _, script := range []string{cmd, "sh -c " + Quote(cmd)} {
			c := exec.Command("sh", "-c", script)
			c.Dir = dir
			out, err := c.Output()
			if err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			if string(out) != s {
				t.Errorf("sh -c %q printed %q, want %q", script, out, s)
			}
			if _, err := os.Stat(filepath.Join(dir, "PWNED")); err == nil {
				t.Fatalf("%q ran a command", s)
			}
		}
	}
}

// asRoot wraps for sudo only when the login user is not root, and the
// wrapped command means the same thing: checked with the real sudo.
func TestAsRoot(t *testing.T) {
	if got := asRoot("root", "id -u"); got != "id -u" {
		t.Errorf("root: %q", got)
	}
	if got, want := asRoot("kprov", "echo 'a'"), `sudo -n -- sh -c 'echo '\''a'\'''`; got != want {
		t.Errorf("kprov: %q, want %q", got, want)
	}
	sudo, err := exec.LookPath("sudo")
	if err != nil || os.Geteuid() != 0 {
		t.Skip("needs root and sudo (apt-get install -y sudo) to run the wrapped commands")
	}
	_ = sudo
	for _, s := range hostile {
		dir := t.TempDir()
		c := exec.Command("sh", "-c", asRoot("kprov", "printf %s "+Quote(s)))
		c.Dir = dir
		out, err := c.Output()
		if err != nil || string(out) != s {
			t.Errorf("through sudo %q: %q, %v", s, out, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "PWNED")); err == nil {
			t.Fatalf("%q ran a command", s)
		}
	}
}

func TestQuoteForms(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/local/bin/kubeadm": "/usr/local/bin/kubeadm",
		"http://10.77.0.1:8080":  "http://10.77.0.1:8080",
		"":                       "''",
		"it's":                   `'it'\''s'`,
		"a b":                    "'a b'",
		"x=1":                    "'x=1'",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}
