package addons

import (
	"strings"
)

// LocalCorefile removes CoreDNS's forwarding to the node's resolvers
// ("forward . /etc/resolv.conf", with or without a { } block) from a
// Corefile. kprov does this when the nodes have no DNS server (an isolated
// network): CoreDNS refuses to start with "no nameservers found" and the
// cluster's own names would not resolve either. Without the forward,
// CoreDNS answers the cluster's names and nothing else. changed is false
// when there was no such forward (already done, or the user's own).
func LocalCorefile(corefile string) (out string, changed bool) {
	lines := strings.SplitAfter(corefile, "\n")
	var b strings.Builder
	skip := false
	for _, l := range lines {
		f := strings.Fields(l)
		if skip {
			if len(f) > 0 && f[0] == "}" {
				skip = false
			}
			continue
		}
		if len(f) >= 3 && f[0] == "forward" && f[1] == "." && f[2] == "/etc/resolv.conf" {
			changed = true
			skip = f[len(f)-1] == "{"
			continue
		}
		b.WriteString(l)
	}
	return b.String(), changed
}
