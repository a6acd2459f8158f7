package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Rootfs builds r with rootfs.sh into a temporary folder under the cache
// and returns it with the function that removes it.
func (e *Env) Rootfs(r Rootfs) (string, func(), error) {
	if os.Geteuid() != 0 {
		return "", nil, fmt.Errorf("the Debian layer needs root (debootstrap, chroot): run as root")
	}
	script := filepath.Join(e.Root, "provision/lab/images/rootfs.sh")
	b, err := os.ReadFile(script)
	if err != nil {
		return "", nil, err
	}
	// Read again, not memoized: the layer is cached under the recipe's sum.
	if sum := fmt.Sprintf("sha256:%x", sha256.Sum256(b)); sum != r.Script {
		return "", nil, fmt.Errorf("%s changed while building (recipe %s, now %s): run the build again", script, r.Script, sum)
	}
	tmp := filepath.Join(e.Cache, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", nil, err
	}
	work, err := os.MkdirTemp(tmp, "rootfs.")
	if err != nil {
		return "", nil, err
	}
	done := func() {
		// Never remove through a mount left behind (/dev bound in the chroot).
		if m := mountsUnder(work); len(m) > 0 {
			e.logf("left %s in place: still mounted there: %v", work, m)
			return
		}
		os.RemoveAll(work)
	}
	dir := filepath.Join(work, "rootfs")
	e.logf("build the Debian %s root filesystem with %v", r.Suite, r.Packages)
	args := append([]string{script, dir}, r.Packages...)
	if err := e.run(work, []string{"SUITE=" + r.Suite, "TMPDIR=" + work}, "bash", args...); err != nil {
		done()
		return "", nil, err
	}
	if err := e.addAccounts(dir, r); err != nil {
		done()
		return "", nil, err
	}
	return dir, done, nil
}

// accountName is what groupadd and useradd accept by default.
var accountName = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)

// addAccounts adds r's groups and users to the root filesystem at dir with
// its own groupadd and useradd (shadow's, in Debian's minbase).
func (e *Env) addAccounts(dir string, r Rootfs) error {
	cmds, err := accountCommands(r)
	if err != nil {
		return err
	}
	for _, c := range cmds {
		if err := e.run(dir, []string{"LC_ALL=C"}, "chroot", append([]string{dir}, c...)...); err != nil {
			return fmt.Errorf("add accounts to the root filesystem: %w", err)
		}
	}
	return nil
}

// accountCommands are the commands that add r's groups, then its users
// (each with its own group of its UID, then added to its groups).
func accountCommands(r Rootfs) ([][]string, error) {
	var cmds [][]string
	for _, g := range r.Groups {
		if !accountName.MatchString(g.Name) || g.GID <= 0 {
			return nil, fmt.Errorf("group %q (gid %d): give a lowercase name and a positive gid", g.Name, g.GID)
		}
		cmds = append(cmds, []string{"groupadd", "--gid", strconv.Itoa(g.GID), g.Name})
	}
	for _, u := range r.Users {
		if !accountName.MatchString(u.Name) || u.UID <= 0 {
			return nil, fmt.Errorf("user %q (uid %d): give a lowercase name and a positive uid", u.Name, u.UID)
		}
		for _, g := range u.Groups {
			if !accountName.MatchString(g) {
				return nil, fmt.Errorf("user %s: group %q: give a lowercase name", u.Name, g)
			}
		}
		id := strconv.Itoa(u.UID)
		cmds = append(cmds, []string{"groupadd", "--gid", id, u.Name})
		add := []string{"useradd", "--uid", id, "--gid", id, "--create-home", "--shell", "/bin/sh"}
		if len(u.Groups) > 0 {
			add = append(add, "--groups", strings.Join(u.Groups, ","))
		}
		cmds = append(cmds, append(add, u.Name))
	}
	return cmds, nil
}

// mountsUnder are the mount points at or below dir (/proc/self/mountinfo);
// an unreadable table counts as a mount, to be safe.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{"(unreadable /proc/self/mountinfo)"}
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}
