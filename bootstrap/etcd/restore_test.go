package etcd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeCtr stands in for ctr: `etcdutl version` answers when etcdutl is
// set, `snapshot restore` makes --data-dir/member with a file naming the
// tool and its arguments (none when broken), and every call is logged.
const fakeCtr = `#!/bin/sh
echo "$*" >> "$CTR_LOG"
case "$*" in
*" etcdutl version") [ -n "$ETCDUTL" ]; exit $? ;;
*"snapshot restore"*)
  while [ $# -gt 0 ]; do [ "$1" = --data-dir ] && d=$2; shift; done
  [ -n "$BROKEN" ] && exit 0
  mkdir -p "$d/member" && echo restored > "$d/member/db" ;;
esac
`

func runRestoreScript(t *testing.T, script string, env ...string) (string, error) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "ctr"), []byte(fakeCtr), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), append(env, "PATH="+bin+":"+os.Getenv("PATH"))...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRestoreScript(t *testing.T) {
	root := t.TempDir()
	rdir, data := filepath.Join(root, "restore dir"), filepath.Join(root, "etcd")
	if err := os.MkdirAll(filepath.Join(data, "member"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "member", "db"), []byte("before"), 0o600); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(root, "ctr.log")
	m := Member{Node: "cp-1", Name: "cp-1", PeerURL: "https://10.0.0.2:2380", DataDir: data + "/", Image: "registry.k8s.io/etcd:3.5.15-0"}
	cluster := InitialCluster([]Member{m, {Name: "cp-0", PeerURL: "https://10.0.0.1:2380"}})
	marker := rdir + "/restored-x"
	script := restoreScript(rdir, m, cluster, rdir+"/x.db", marker, "tok")
	if _, err := runRestoreScript(t, "mkdir -p '"+rdir+"'"); err != nil {
		t.Fatal(err)
	}
	if out, err := runRestoreScript(t, script, "CTR_LOG="+log, "ETCDUTL=1"); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	readFile := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
	if got := readFile(filepath.Join(data, "member", "db")); got != "restored\n" {
		t.Errorf("member/db after the restore: %q", got)
	}
	befores, _ := filepath.Glob(filepath.Join(rdir, "before", "member-*", "db"))
	if len(befores) != 1 || readFile(befores[0]) != "before" {
		t.Errorf("the old member folder was not kept: %v", befores)
	}
	calls := readFile(log)
	want := "etcdutl snapshot restore " + rdir + "/x.db --data-dir " + rdir + "/data --name cp-1 --initial-cluster cp-0=https://10.0.0.1:2380,cp-1=https://10.0.0.2:2380 --initial-cluster-token tok --initial-advertise-peer-urls https://10.0.0.2:2380"
	if !strings.Contains(calls, want) || !strings.Contains(calls, "registry.k8s.io/etcd:3.5.15-0") {
		t.Errorf("ctr calls:\n%s\nwant one with:\n%s", calls, want)
	}

	// Done once: a second run does nothing.
	if out, err := runRestoreScript(t, script, "CTR_LOG="+log, "ETCDUTL=1"); err != nil || readFile(log) != calls {
		t.Errorf("second run: %v\n%s\nctr calls now:\n%s", err, out, readFile(log))
	}

	// Cut short before its marker: run again, the restored data is put in
	// place again and the data from before the first run is still kept.
	os.Remove(marker)
	if out, err := runRestoreScript(t, script, "CTR_LOG="+log); err != nil {
		t.Fatalf("run after an interruption: %v\n%s", err, out)
	}
	befores, _ = filepath.Glob(filepath.Join(rdir, "before", "member-*", "db"))
	kept := 0
	for _, b := range befores {
		if readFile(b) == "before" {
			kept++
		}
	}
	if len(befores) != 2 || kept != 1 || readFile(filepath.Join(data, "member", "db")) != "restored\n" {
		t.Errorf("after the repeat: before/ holds %v (%d with the original data)", befores, kept)
	}
	// Without etcdutl in the image (etcd 3.4), etcdctl restores.
	if !strings.Contains(readFile(log), "etcdctl snapshot restore") {
		t.Errorf("etcdctl was not used without etcdutl:\n%s", readFile(log))
	}

	// A tool that makes nothing: an error naming the folder, the member
	// in place untouched.
	os.Remove(marker)
	out, err := runRestoreScript(t, script, "CTR_LOG="+log, "ETCDUTL=1", "BROKEN=1")
	if err == nil || !strings.Contains(out, "made no member folder in "+rdir+"/data") {
		t.Errorf("broken restore: %v\n%s", err, out)
	}
	if readFile(filepath.Join(data, "member", "db")) != "restored\n" {
		t.Error("a failed restore touched the member folder")
	}
}
