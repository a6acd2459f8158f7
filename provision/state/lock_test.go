package state_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/state"
)

// A child test process takes the lock when KPROV_LOCK_CHILD names a
// folder, says so, and holds it until killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("KPROV_LOCK_CHILD"); dir != "" {
		if _, err := state.Lock(dir, "kprov up child.hcl"); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLockNamesHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	l, err := state.Lock(dir, "kprov up demo.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if l.Stale != nil {
		t.Errorf("fresh lock reports a stale holder %v", l.Stale)
	}
	_, err = state.Lock(dir, "kprov down demo.hcl")
	var le *state.LockedError
	if !errors.As(err, &le) || le.Holder.PID != os.Getpid() || le.Holder.Command != "kprov up demo.hcl" {
		t.Fatalf("second lock: %v", err)
	}
	for _, want := range []string{dir + " is in use by \"kprov up demo.hcl\" (PID " + fmt.Sprint(os.Getpid()), "kill " + fmt.Sprint(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, state.LeaseFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v %v", fi, err)
	}
	l.Release()
	l.Release() // twice is fine
	again, err := state.Lock(dir, "kprov down demo.hcl")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	defer again.Release()
	if again.Stale != nil {
		t.Errorf("a released lock is reported stale: %v", again.Stale)
	}
}

// A holder killed with SIGKILL leaves its record but not the lock: the
// next command takes it over and names the dead holder.
func TestLockStaleTakenOver(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), "KPROV_LOCK_CHILD="+dir)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		s.Scan()
		line <- s.Text()
	}()
	select {
	case l := <-line:
		if l != "locked" {
			t.Fatalf("child: %s", l)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child did not take the lock within 30s")
	}
	_, err = state.Lock(dir, "kprov up demo.hcl")
	var le *state.LockedError
	if !errors.As(err, &le) || le.Holder.PID != child.Process.Pid || le.Holder.Command != "kprov up child.hcl" {
		t.Fatalf("while the child holds it: %v", err)
	}
	child.Process.Signal(syscall.SIGKILL)
	child.Wait()
	l, err := state.Lock(dir, "kprov up demo.hcl")
	if err != nil {
		t.Fatalf("after the holder died: %v", err)
	}
	defer l.Release()
	if l.Stale == nil || l.Stale.PID != child.Process.Pid || l.Stale.Command != "kprov up child.hcl" {
		t.Fatalf("stale holder %v, want the dead child %d", l.Stale, child.Process.Pid)
	}
}

func TestLeaks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	s, err := state.Ensure(dir, "demo", []string{"cp-1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Leaks([]byte("nothing secret here\n" + s.SSHAuthorizedKey + "\n" + string(s.CACert))); len(got) != 0 {
		t.Errorf("public material reported as leaks: %v", got)
	}
	lines := strings.Split(string(s.HostKeys["cp-1"].Private), "\n")
	text := "log: token " + s.BootstrapToken + "\nkey " + s.CertificateKey + "\n" + lines[2] + "\n"
	got := s.Leaks([]byte(text))
	want := []string{"bootstrap token", "certificate key", "host private key of cp-1"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("leaks %v, want %v", got, want)
	}
}
