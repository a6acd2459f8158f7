package cli_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/internal/sshdtest"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// TestSSH runs `kprov ssh` against a real sshd, as a user a script makes,
// inside a network namespace the script makes (testdata/ssh).
func TestSSH(t *testing.T) {
	runSSHScripts(t, "testdata/ssh", nil)
}

// runSSHScripts runs the scripts of dir as root, with the sshnode command
// and cmds. Each script has its own user ($KPROV_VAR_user), network
// namespace for nodes ($NETNS), a name for a second one ($CLIENTNS), a
// state folder, and $KPROV_VAR_upstream, the faithful upstream manifests
// (../shared/upstream).
func runSSHScripts(t *testing.T, dir string, cmds map[string]func(ts *testscript.TestScript, neg bool, args []string)) {
	if testing.Short() {
		t.Skip("runs sshd in a network namespace; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("kprov's SSH tests create network namespaces and a user: run them as root, or go test -short")
	}
	for _, p := range []string{"ip", "/usr/sbin/sshd", "useradd", "sudo"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Fatalf("%s missing: apt-get install -y iproute2 openssh-server passwd sudo (make deps)", p)
		}
	}
	upstream := judge.UpstreamDir(t, judge.UpstreamManifests...)
	all := map[string]func(ts *testscript.TestScript, neg bool, args []string){"sshnode": sshNode}
	for name, cmd := range cmds {
		all[name] = cmd
	}
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			id := fmt.Sprintf("%d-%d", os.Getpid(), scriptSeq.Add(1))
			e.Setenv("KPROV_STATE_DIR", filepath.Join(e.WorkDir, "state"))
			e.Setenv("KPROV_VAR_user", "kprovc"+strings.ReplaceAll(id, "-", "x"))
			e.Setenv("KPROV_VAR_upstream", upstream)
			e.Setenv("NETNS", "kprov-sshcli-"+id)
			e.Setenv("CLIENTNS", "kprov-client-"+id)
			e.Setenv("NO_COLOR", "1")
			// The script's *testing.T, for the judges commands start.
			e.Values[scriptTB{}] = e.T().(testing.TB)
			return nil
		},
		Cmds: all,
	})
}

// scriptSeq numbers the SSH scripts of the test binary: each gets its own
// user and namespaces.
var scriptSeq atomic.Int32

// scriptTB keys the script's testing.TB in its values.
type scriptTB struct{}

// loadSpec loads a spec of the script with its KPROV_VAR_ variables.
func loadSpec(ts *testscript.TestScript, path string) *spec.Spec {
	l := spec.NewLoader()
	for _, v := range []string{"user", "upstream"} {
		l.Env = append(l.Env, "KPROV_VAR_"+v+"="+ts.Getenv("KPROV_VAR_"+v))
	}
	s, diags := l.LoadFile(ts.MkAbs(path))
	if diags.HasErrors() {
		ts.Fatalf("%v", diags)
	}
	return s
}

// nodeIP is the planned address of the spec's node.
func nodeIP(ts *testscript.TestScript, s *spec.Spec, node string) string {
	nodes, err := artifacts.Nodes(s.Cluster)
	ts.Check(err)
	for _, n := range nodes {
		if n.Name == node {
			return n.IP.String()
		}
	}
	ts.Fatalf("spec has no node %s", node)
	return ""
}

// sshnode SPEC NODE [wrongkey] makes the script's namespace and user (once),
// puts NODE's planned address on the namespace's loopback and runs sshd
// there with the host key kprov gave NODE (or another one), letting the
// spec's user in with the state folder's client key.
func sshNode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: sshnode SPEC NODE [wrongkey]")
	}
	s := loadSpec(ts, args[0])
	ip := nodeIP(ts, s, args[1])
	secrets, err := state.Load(filepath.Join(ts.Getenv("KPROV_STATE_DIR"), s.Cluster.Name))
	ts.Check(err)
	ns, user := ts.Getenv("NETNS"), s.Cluster.SSH.User
	run := func(args ...string) {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			ts.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if _, err := os.Stat("/run/netns/" + ns); err != nil {
		run("ip", "netns", "add", ns)
		ts.Defer(func() { exec.Command("ip", "netns", "del", ns).Run() })
		run("ip", "-n", ns, "link", "set", "lo", "up")
		run("useradd", "--create-home", "--password", "*", "--shell", "/bin/sh", user)
		ts.Defer(func() { exec.Command("userdel", "--remove", user).Run() })
		ts.Check(os.WriteFile("/etc/sudoers.d/"+user, []byte(user+" ALL=(ALL) NOPASSWD: ALL\n"), 0o440))
		ts.Defer(func() { os.Remove("/etc/sudoers.d/" + user) })
	}
	dir, err := os.MkdirTemp("", "kprov-sshd-")
	ts.Check(err)
	ts.Defer(func() { os.RemoveAll(dir) })
	c := sshdtest.Config{Dir: dir, Listen: net.JoinHostPort(ip, "22"), Netns: ns, Loopback: true,
		HostKeyPEM: secrets.HostKeys[args[1]].Private, AuthorizedKeys: []byte(secrets.SSHAuthorizedKey + "\n")}
	if len(args) > 2 && args[2] == "wrongkey" {
		c.HostKeyPEM = nil // a new one
	}
	sshd, err := sshdtest.Start(c)
	ts.Check(err)
	ts.Defer(sshd.Kill)
}
