package nodepreprun

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/binaries"
	"github.com/kprov/kprov/bootstrap/remote"
)

// apt's own words when the node has no way out (apt 2.6, Debian 12, in a
// network namespace without routes), then the install that follows.
const aptNoNetwork = `Err:1 http://deb.debian.org/debian bookworm InRelease
  Temporary failure resolving 'deb.debian.org'
Reading package lists...
W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'
W: Some index files failed to download. They have been ignored, or old ones used instead.
Reading package lists...
E: Unable to locate package containerd`

func TestUnreachablePackageSource(t *testing.T) {
	err := Unreachable(&remote.RunError{Node: "worker-1", ExitCode: 100, Output: aptNoNetwork}, "its package source", packageHint)
	var re *ReachError
	if !errors.As(err, &re) {
		t.Fatalf("want a ReachError, got %v", err)
	}
	want := "node worker-1 cannot reach its package source: W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'; preparation installs packages with apt-get"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got  %s\nwant %s...", err, want)
	}
	// Not a network failure: the error stays as it was.
	other := &remote.RunError{Node: "worker-1", ExitCode: 100, Output: "E: Unable to locate package containerd"}
	if got := Unreachable(other, "its package source", packageHint); got != error(other) {
		t.Errorf("a missing package became %v", got)
	}
	if plain := errors.New("x"); Unreachable(plain, "w", "h") != plain {
		t.Error("an error that is not a RunError was changed")
	}
}

// The real install script and the real curl, against a closed port on
// loopback: the binaries source named, curl's reason kept.
func TestUnreachableBinariesSource(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed (apt-get install curl)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	dir := t.TempDir()
	b := binaries.Binary{Name: "kubeadm", URL: "http://" + addr + "/release/v1.30.14/bin/linux/amd64/kubeadm", Path: filepath.Join(dir, "kubeadm")}
	script, err := binaries.Install(b, strings.Repeat("ab", 32))
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "-c", script).CombinedOutput()
	if err == nil {
		t.Fatalf("the install succeeded against a closed port:\n%s", out)
	}
	run := &remote.RunError{Node: "cp-1", ExitCode: 7, Output: string(out)}
	err = Unreachable(run, "the binaries source "+addr, BinariesHint)
	var re *ReachError
	if !errors.As(err, &re) || !strings.Contains(re.Cause, "curl: (7) Failed to connect to 127.0.0.1") {
		t.Fatalf("want a ReachError with curl's reason, got %v\n(output: %s)", err, out)
	}
	if !strings.Contains(err.Error(), "node cp-1 cannot reach the binaries source "+addr+": curl: (7)") || !strings.Contains(err.Error(), "artifacts.mirror") {
		t.Errorf("message: %v", err)
	}
}
