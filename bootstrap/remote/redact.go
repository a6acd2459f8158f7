package remote

import (
	"sort"
	"strings"
)

// Redacted replaces every secret in logs and error messages.
const Redacted = "[REDACTED]"

// minSecretLine is the shortest line of a multi-line secret that is
// redacted on its own (log lines arrive one at a time).
const minSecretLine = 16

// redactor replaces secrets, longest first so that one secret containing
// another is replaced whole.
type redactor struct {
	r *strings.Replacer
}

// newRedactor redacts each secret, and each long line of a multi-line
// secret (a PEM body) so that line-by-line logs hide it too. PEM armour
// lines are not secret and are kept.
func newRedactor(secrets []string) redactor {
	seen := map[string]bool{}
	var all []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			all = append(all, s)
		}
	}
	for _, s := range secrets {
		s = strings.TrimSpace(s)
		add(s)
		if !strings.Contains(s, "\n") {
			continue
		}
		for _, l := range strings.Split(s, "\n") {
			l = strings.TrimSpace(l)
			if len(l) >= minSecretLine && !strings.HasPrefix(l, "-----") {
				add(l)
			}
		}
	}
	if len(all) == 0 {
		return redactor{}
	}
	sort.Slice(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
	pairs := make([]string, 0, 2*len(all))
	for _, s := range all {
		pairs = append(pairs, s, Redacted)
	}
	return redactor{strings.NewReplacer(pairs...)}
}

func (r redactor) String(s string) string {
	if r.r == nil {
		return s
	}
	return r.r.Replace(s)
}
