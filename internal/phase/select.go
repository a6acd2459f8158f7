package phase

import (
	"fmt"
	"strings"
)

// Selection is --only and --skip: phase names, or prefixes such as
// "kubeadm" for every kubeadm/... phase.
type Selection struct{ Only, Skip []string }

// Matches reports whether name is one of patterns or lies under one of
// them; only whole path parts match ("kube" is no prefix of "kubeadm/init").
func Matches(name string, patterns []string) bool {
	for _, p := range patterns {
		if name == p || strings.HasPrefix(name, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// Apply keeps the selected phases; a pattern that names no phase is an
// error listing them.
func (s Selection) Apply(phases []Phase) ([]Phase, error) {
	for _, p := range append(append([]string{}, s.Only...), s.Skip...) {
		found := false
		for _, ph := range phases {
			found = found || Matches(ph.Name, []string{p})
		}
		if !found {
			return nil, fmt.Errorf("no phase %q; the phases are %s", p, strings.Join(Names(phases), ", "))
		}
	}
	var out []Phase
	for _, ph := range phases {
		if (len(s.Only) == 0 || Matches(ph.Name, s.Only)) && !Matches(ph.Name, s.Skip) {
			out = append(out, ph)
		}
	}
	return out, nil
}
