package nodepreprun

import (
	"strings"
	"testing"
	"time"
)

func TestCommentSwap(t *testing.T) {
	in := "LABEL=root / ext4 defaults 0 1\n/swapfile none swap sw 0 0\n# /old none swap sw 0 0\nUUID=x none swap sw 0 0\n"
	out, changed := commentSwap([]byte(in))
	if !changed {
		t.Fatal("no change")
	}
	lines := strings.Split(string(out), "\n")
	if lines[0] != "LABEL=root / ext4 defaults 0 1" || !strings.HasPrefix(lines[1], "# disabled by kprov") ||
		lines[2] != "# /old none swap sw 0 0" || !strings.HasPrefix(lines[3], "# disabled by kprov") {
		t.Errorf("fstab:\n%s", out)
	}
	if _, again := commentSwap(out); again {
		t.Error("commenting twice changed something")
	}
}

func TestParseFio(t *testing.T) {
	out := `note: both iodepth >= 1 and synchronous I/O engine are selected
{"fio version": "fio-3.33", "jobs": [{"jobname": "kprov-etcd-check",
 "sync": {"total_ios": 1823, "lat_ns": {"min": 1000, "max": 9000000, "mean": 2000000,
 "percentile": {"90.000000": 3000000, "99.000000": 7372800, "99.900000": 8900000}}}}]}`
	got, err := parseFio(out)
	if err != nil || got != 7372800*time.Nanosecond {
		t.Errorf("parseFio = %v, %v", got, err)
	}
	if _, err := parseFio(`{"jobs": []}`); err == nil {
		t.Error("no job accepted")
	}
	if _, err := parseFio(`garbage`); err == nil {
		t.Error("garbage accepted")
	}
	e := &EtcdDiskError{Node: "cp-1", P99: 23 * time.Millisecond}
	if !strings.Contains(e.Error(), "node cp-1: fdatasync p99 on /var/lib/etcd is 23ms; etcd needs under 10ms") {
		t.Errorf("message: %v", e)
	}
	if formatP99(7372800*time.Nanosecond) != "7.37 ms" {
		t.Errorf("format: %s", formatP99(7372800*time.Nanosecond))
	}
}
