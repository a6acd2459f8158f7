package state

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestVersions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "st")
	if v, err := ReadVersions(dir); err != nil || v.Cluster != "" || v.Nodes != nil {
		t.Fatalf("no file: %+v %v", v, err)
	}
	want := Versions{Cluster: "v1.30.4", Nodes: map[string]string{"cp-1": "v1.30.14", "worker-1": "v1.30.4"}}
	if err := WriteVersions(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadVersions(dir)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("read back %+v %v, want %+v", got, err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, VersionsFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadVersions(dir); err == nil {
		t.Error("a broken file read without error")
	}
}
