package etcd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestWriteLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "b")
	snap := []byte("bbolt pages")
	m := Meta{Cluster: "lab", Node: "cp-1", TakenAt: time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC), Revision: 7,
		CASHA256: Sum([]byte("ca")), Members: []Member{{Node: "cp-1", Name: "cp-1", PeerURL: "https://10.0.0.2:2380"}}}
	if err := Write(dir, snap, m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"", SnapshotFile, MetaFile} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]os.FileMode{true: 0o700 | os.ModeDir, false: 0o600}[f == ""]; st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", f, st.Mode(), want)
		}
	}
	got, data, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(snap) || got.SHA256 != Sum(snap) || got.Size != int64(len(snap)) || got.Revision != 7 || !got.TakenAt.Equal(m.TakenAt) {
		t.Errorf("loaded %+v", got)
	}
	// The snapshot's own path names the backup too.
	if _, _, err := Load(filepath.Join(dir, SnapshotFile)); err != nil {
		t.Errorf("Load of the snapshot's path: %v", err)
	}
	// A second backup into the same folder is refused.
	if err := Write(dir, []byte("other"), m); err == nil || !strings.Contains(err.Error(), "already holds a backup") {
		t.Errorf("second Write: %v", err)
	}
	// One byte changed, or cut short: refused, saying so.
	for name, b := range map[string][]byte{"changed": []byte("bbolt pageS"), "cut": []byte("bbolt")} {
		if err := os.WriteFile(filepath.Join(dir, SnapshotFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		var ce *ChecksumError
		if _, _, err := Load(dir); !errors.As(err, &ce) || !strings.Contains(err.Error(), "changed or cut short") {
			t.Errorf("%s snapshot: %v", name, err)
		}
	}
	// A folder without backup.json is not a backup.
	if _, _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a kprov backup") {
		t.Errorf("empty folder: %v", err)
	}
}
