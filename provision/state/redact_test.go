package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretsNeverPrint(t *testing.T) {
	s := ensure(t, tempDir(t), "cp-1")
	_, tokenSecret, _ := strings.Cut(s.BootstrapToken, ".")
	hk := s.HostKeys["cp-1"]
	// Pieces of every secret: PEM bodies, not their shared headers.
	secrets := map[string]string{
		"ssh key":         pemBody(s.SSHPrivateKey),
		"host key":        pemBody(hk.Private),
		"token secret":    tokenSecret,
		"certificate key": s.CertificateKey,
		"CA key":          pemBody(s.CAKey),
	}
	var outs []string
	for _, v := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(v, s), fmt.Sprintf(v, *s), fmt.Sprintf(v, hk),
			fmt.Sprintf(v, s.HostKeys), fmt.Sprintf(v, struct{ S Secrets }{*s}))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(*s), fmt.Errorf("wrapped: %v", s).Error(),
		errors.New(s.String()).Error())
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("t", "s", s, "hk", hk)
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("t", "s", *s, "hk", hk, "map", s.HostKeys)
	outs = append(outs, logs.String())
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(js))
	for _, out := range outs {
		for name, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("%s printed in %q", name, out)
			}
		}
		if !strings.Contains(out, "redacted") {
			t.Errorf("no redaction marker in %q", out)
		}
	}
	// Public parts stay visible: they help debugging.
	if got := s.String(); !strings.Contains(got, s.SSHAuthorizedKey) || !strings.Contains(got, "cp-1") {
		t.Errorf("String %q lacks the public key or node names", got)
	}
}

// pemBody is a line from the middle of a PEM block.
func pemBody(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)/2]
}
