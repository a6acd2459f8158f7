package remote

import (
	"regexp"
	"strings"
)

// plain matches words the shell reads literally, which need no quotes.
var plain = regexp.MustCompile(`^[A-Za-z0-9_@%+:,./-]+$`)

// Quote makes s one word for a POSIX shell: unchanged when every byte is
// literal to the shell, else in single quotes, where each ' is closed,
// escaped with a backslash and reopened. Nothing inside single quotes is
// special to sh. A shell word cannot hold NUL: callers refuse such values.
func Quote(s string) string {
	if plain.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// asRoot is command run as root by user: unchanged for root, else through
// sudo without a password prompt (-n fails instead of hanging).
func asRoot(user, command string) string {
	if user == "root" {
		return command
	}
	return "sudo -n -- sh -c " + Quote(command)
}
