package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// backupRestore proves kprov backup and restore on the running cluster:
// a ConfigMap made, backed up, deleted, another made after the backup;
// after the restore the first is there again and the second is gone.
func (l *lab) backupRestore() {
	t := l.t
	t.Helper()
	kc, _ := l.kprov("kubeconfig", l.spec)
	l.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(l.kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	l.mustKubectl("", "create", "configmap", "e2e-before-backup", "--from-literal=made=before")
	dir := filepath.Join(t.TempDir(), "backup")
	start := time.Now()
	out, msg := l.kprov("backup", l.spec, "--out", dir)
	t.Logf("backup in %s: %s%s", time.Since(start).Round(time.Second), out, msg)
	for _, f := range []string{"etcd.db", "backup.json"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("backup's %s: %v (mode %v), want mode 0600", f, err, st)
		}
		if f == "etcd.db" {
			t.Logf("snapshot size: %d bytes", st.Size())
		}
	}
	l.mustKubectl("", "delete", "configmap", "e2e-before-backup")
	l.mustKubectl("", "create", "configmap", "e2e-after-backup", "--from-literal=made=after")
	// Without --yes nothing happens.
	if _, stderr, err := l.kprovErr("restore", l.spec, dir); err == nil || !strings.Contains(stderr, "--yes") {
		t.Fatalf("restore without --yes: %v\n%s", err, stderr)
	}
	start = time.Now()
	_, msg = l.kprov("restore", l.spec, dir, "--yes")
	t.Logf("restore in %s:\n%s", time.Since(start).Round(time.Second), msg)
	eventually(t, "the API server answering after the restore", 5*time.Minute, func() (bool, string) {
		out, err := l.kubectl("", "get", "configmaps", "-o", "name")
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(out, "configmap/e2e-before-backup") && !strings.Contains(out, "configmap/e2e-after-backup"), out
	})
	if got := l.mustKubectl("", "get", "configmap", "e2e-before-backup", "-o", "jsonpath={.data.made}"); got != "before" {
		t.Errorf("restored ConfigMap holds %q", got)
	}
	l.mustKubectl("", "delete", "configmap", "e2e-before-backup")
}
