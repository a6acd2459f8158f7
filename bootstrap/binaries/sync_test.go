package binaries

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/internal/golden"
)

// labPins are the lab's pins with every sum resolved.
func labPins(t *testing.T) []Pin {
	t.Helper()
	pins := Pins(loadLab(t))
	for i := range pins {
		if pins[i].SHA256 == "" {
			pins[i].SHA256, pins[i].Origin = strings.Repeat(string(rune('0'+i)), 64), FromPublished
		}
	}
	return pins
}

func TestLockGolden(t *testing.T) {
	pins := labPins(t)
	l := lockfile.New()
	// Recorded in reverse: the file's order must not depend on it.
	for i := len(pins) - 1; i >= 0; i-- {
		l.Set(pins[i].Entry())
	}
	l.Set(lockfile.Entry{Name: "kubeadm", Source: "https://dl.k8s.io/release/v1.30.14/bin/linux/amd64/kubeadm", SHA256: sumA})
	golden.Assert(t, lockfile.Name, l.Bytes())
}

// TestSync: the first run creates the lock, a second finds no drift and
// leaves the file alone, a changed spec pin is drift that Record writes.
func TestSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), lockfile.Name)
	pins := labPins(t)
	drift, err := Sync(path, pins, Record)
	if err != nil || len(drift) != len(pins) {
		t.Fatalf("first sync: %d drifts, %v; want %d", len(drift), err, len(pins))
	}
	first, _ := os.ReadFile(path)
	before, _ := os.Stat(path)
	if drift, err := Sync(path, pins, Record); err != nil || len(drift) != 0 {
		t.Errorf("second sync: %v %v, want no drift", drift, err)
	}
	if after, _ := os.Stat(path); !after.ModTime().Equal(before.ModTime()) {
		t.Error("an unchanged lock was rewritten")
	}
	if drift, err := Sync(path, pins, Locked); err != nil || len(drift) != 0 {
		t.Errorf("locked sync of a recorded lock: %v %v", drift, err)
	}

	// The spec now pins kubelet to another sum.
	changed := append([]Pin(nil), pins...)
	i := indexOf(changed, "kubelet")
	old := changed[i].SHA256
	changed[i].SHA256, changed[i].Origin = sumB, FromSpec
	drift, err = Sync(path, changed, Record)
	if err != nil || len(drift) != 1 || drift[0].Locked != old || drift[0].Pin.SHA256 != sumB {
		t.Fatalf("drift %v %v, want kubelet %s -> %s", drift, err, old, sumB)
	}
	if s := drift[0].String(); !strings.Contains(s, old) || !strings.Contains(s, sumB) || !strings.Contains(s, "kubelet") {
		t.Errorf("drift reads %q", s)
	}
	now, _ := os.ReadFile(path)
	if string(now) == string(first) || !strings.Contains(string(now), sumB) {
		t.Error("Record did not write the new pin")
	}

	// Unresolved pins are an error, not drift.
	open := append([]Pin(nil), pins...)
	open[0].SHA256 = ""
	if _, err := Sync(path, open, Record); err == nil || !strings.Contains(err.Error(), open[0].Name) {
		t.Errorf("open pin: %v", err)
	}
}

// TestLocked: --locked refuses a pin the lock lacks and one it records
// otherwise, naming the artifact, both sums and what to do; it never writes.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), lockfile.Name)
	pins := labPins(t)
	if _, err := Sync(path, pins, Locked); err == nil || !strings.Contains(err.Error(), "no entry for image") ||
		!strings.Contains(err.Error(), "run once without --locked to record it") {
		t.Errorf("locked without a lock: %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("--locked wrote a lock")
	}
	if _, err := Sync(path, pins, Record); err != nil {
		t.Fatal(err)
	}
	written, _ := os.ReadFile(path)

	changed := append([]Pin(nil), pins...)
	i := indexOf(changed, "kubeadm")
	old := changed[i].SHA256
	changed[i].SHA256, changed[i].Origin = sumC, FromSpec
	j := indexOf(changed, "kubectl")
	changed[j].Source = "http://10.77.0.1:8080/release/v1.21.15/bin/linux/amd64/kubectl"
	drift, err := Sync(path, changed, Locked)
	if len(drift) != 2 || err == nil {
		t.Fatalf("drift %v, err %v; want 2 drifts refused", drift, err)
	}
	msg := err.Error()
	for _, want := range []string{
		"kubeadm (" + changed[i].Source + ") is locked at sha256 " + old + " but the spec gives " + sumC,
		"set the spec's sha256 back to " + old,
		"no entry for kubectl (http://10.77.0.1:8080/release/v1.21.15/bin/linux/amd64/kubectl)",
		path,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("locked error lacks %q:\n%s", want, msg)
		}
	}
	if now, _ := os.ReadFile(path); string(now) != string(written) {
		t.Error("--locked changed the lock")
	}
}

// TestSyncKeepsImages: recording artifact pins leaves the image digests
// alone.
func TestSyncKeepsImages(t *testing.T) {
	path := filepath.Join(t.TempDir(), lockfile.Name)
	l := lockfile.New()
	if err := l.SetDigest("registry.k8s.io/pause:3.9", "sha256:"+sumA); err != nil {
		t.Fatal(err)
	}
	if err := l.Write(path); err != nil {
		t.Fatal(err)
	}
	if _, err := Sync(path, labPins(t), Record); err != nil {
		t.Fatal(err)
	}
	back, err := lockfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := back.Digest("registry.k8s.io/pause:3.9"); !ok || d != "sha256:"+sumA {
		t.Errorf("after Sync: %q %v", d, ok)
	}
	if len(back.Entries()) != len(labPins(t)) {
		t.Errorf("%d entries after Sync", len(back.Entries()))
	}
}

func indexOf(pins []Pin, name string) int {
	for i, p := range pins {
		if p.Name == name {
			return i
		}
	}
	panic(name)
}
