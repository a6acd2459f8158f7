package remote

import "strings"

// Quote makes s one word for a POSIX shell: single quotes, each ' inside
// closed, escaped with a backslash and reopened. Nothing inside single
// quotes is special to sh.
func Quote(s string) string {
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
