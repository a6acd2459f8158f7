package nodepreprun

import (
	"bufio"
	"fmt"
	"strings"
)

// OSError is a node kprov cannot prepare: not Debian-family.
type OSError struct {
	Node, Pretty string
}

func (e *OSError) Error() string {
	return fmt.Sprintf("node %s runs %s: kprov prepares Debian-family nodes (Debian, Ubuntu: apt, dpkg, systemd); use such a cloud image in image.source", e.Node, e.Pretty)
}

// debianFamily reads /etc/os-release: ID debian or ubuntu, or debian in
// ID_LIKE. pretty names the system for messages.
func debianFamily(osRelease string) (pretty string, ok bool) {
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(osRelease))
	for sc.Scan() {
		k, v, found := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if found {
			fields[k] = strings.Trim(v, `"'`)
		}
	}
	pretty = fields["PRETTY_NAME"]
	if pretty == "" {
		pretty = fields["ID"]
	}
	if pretty == "" {
		pretty = "an unknown system (no /etc/os-release)"
	}
	if fields["ID"] == "debian" || fields["ID"] == "ubuntu" {
		return pretty, true
	}
	for _, like := range strings.Fields(fields["ID_LIKE"]) {
		if like == "debian" || like == "ubuntu" {
			return pretty, true
		}
	}
	return pretty, false
}
