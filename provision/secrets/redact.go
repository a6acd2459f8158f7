package secrets

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
)

// Secrets and HostKey print redacted with every fmt verb, in slog and as
// JSON (hence YAML), so a stray %v in a log line or an error never shows
// key material.
var (
	_ fmt.Formatter  = Secrets{}
	_ fmt.GoStringer = Secrets{}
	_ slog.LogValuer = Secrets{}
	_ json.Marshaler = Secrets{}
	_ fmt.Formatter  = HostKey{}
	_ fmt.GoStringer = HostKey{}
	_ slog.LogValuer = HostKey{}
	_ json.Marshaler = HostKey{}
)

const redacted = "<redacted>"

// String shows public parts only: the client public key, the node names of
// the host keys and the bootstrap token's ID (not its secret half).
func (s Secrets) String() string {
	names := make([]string, 0, len(s.HostKeys))
	for n := range s.HostKeys {
		names = append(names, n)
	}
	sort.Strings(names)
	tokenID := ""
	if id, _, ok := strings.Cut(s.BootstrapToken, "."); ok {
		tokenID = id + "."
	}
	return fmt.Sprintf("state.Secrets{SSHPrivateKey:%s SSHAuthorizedKey:%q HostKeys:%v BootstrapToken:%s CertificateKey:%s CACert:%s CAKey:%s}",
		redacted, s.SSHAuthorizedKey, names, tokenID+redacted, redacted, redacted, redacted)
}

// GoString is String: %#v is redacted too.
func (s Secrets) GoString() string { return s.String() }

// Format writes String for every verb.
func (s Secrets) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// LogValue keeps slog's JSON and text handlers from reflecting on fields.
func (s Secrets) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON is String as a JSON string.
func (s Secrets) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// String shows the public key only.
func (k HostKey) String() string {
	return fmt.Sprintf("state.HostKey{Private:%s Public:%q}", redacted, k.Public)
}

// GoString is String.
func (k HostKey) GoString() string { return k.String() }

// Format writes String for every verb.
func (k HostKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue is String.
func (k HostKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalJSON is String as a JSON string.
func (k HostKey) MarshalJSON() ([]byte, error) { return json.Marshal(k.String()) }
