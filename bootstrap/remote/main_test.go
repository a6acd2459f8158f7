package remote_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The integration tests run real OpenSSH sshd processes as test hosts.
// TestMain creates a network namespace of its own and a login user with
// passwordless sudo (logging in as a user other than root is what kprov
// does on real nodes, so the sudo wrapping is tested for real), runs the
// test binary again inside the namespace, and removes both afterwards.
// Every host listens on an address on the namespace's loopback.
const (
	nsEnv   = "KPROV_SSH_TEST_NETNS"
	userEnv = "KPROV_SSH_TEST_USER"
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() || os.Getenv(nsEnv) != "" {
		os.Exit(m.Run())
	}
	os.Exit(inNamespace())
}

func inNamespace() int {
	for _, p := range []struct{ prog, pkg string }{{"ip", "iproute2"}, {"sshd", "openssh-server"}, {"sudo", "sudo"}, {"useradd", "passwd"}} {
		if _, err := exec.LookPath(p.prog); err != nil {
			fmt.Fprintf(os.Stderr, "the SSH engine tests need %s: apt-get install -y %s (make deps), or run go test -short\n", p.prog, p.pkg)
			return 1
		}
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "the SSH engine tests create a network namespace and a user: run them as root, or go test -short")
		return 1
	}
	pid := os.Getpid()
	ns, user := fmt.Sprintf("kprov-ssh-%d", pid), fmt.Sprintf("kprovt%d", pid)
	sudoers := "/etc/sudoers.d/" + user
	cleanup, err := setup(ns, user, sudoers)
	defer cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), nsEnv+"="+ns, userEnv+"="+user)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// setup makes the namespace and the user; cleanup undoes what was done,
// ending first any process still running in the namespace.
func setup(ns, user, sudoers string) (cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	run := func(args ...string) error {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("ip", "netns", "add", ns); err != nil {
		return cleanup, err
	}
	undo = append(undo, func() {
		killNamespace(ns)
		run("ip", "netns", "del", ns)
	})
	if err := run("ip", "-n", ns, "link", "set", "lo", "up"); err != nil {
		return cleanup, err
	}
	// "*" is no password but not a locked account, which sshd refuses.
	if err := run("useradd", "--create-home", "--password", "*", "--shell", "/bin/sh", user); err != nil {
		return cleanup, err
	}
	undo = append(undo, func() { run("userdel", "--remove", user) })
	if err := os.WriteFile(sudoers, []byte(user+" ALL=(ALL) NOPASSWD: ALL\n"), 0o440); err != nil {
		return cleanup, err
	}
	undo = append(undo, func() { os.Remove(sudoers) })
	return cleanup, nil
}

// killNamespace kills, by PID, the processes left in the test namespace
// (sshd hosts of a test binary that crashed).
func killNamespace(ns string) {
	out, _ := exec.Command("ip", "netns", "pids", ns).Output()
	for _, f := range strings.Fields(string(out)) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid > 1 {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
		}
	}
}
