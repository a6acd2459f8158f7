package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const pemKey = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDk2WZP0s1TQSiAyxCLnBKhGXG7SSTYZfSHJZUsz5HMLgAAAJBdYyu1XWMr
-----END OPENSSH PRIVATE KEY-----`

func TestRedactor(t *testing.T) {
	r := newRedactor([]string{"abcdef.0123456789abcdef", pemKey + "\n", "", "abcdef"})
	for in, want := range map[string]string{
		"kubeadm join --token abcdef.0123456789abcdef x": "kubeadm join --token [REDACTED] x",
		"id abcdef only":  "id [REDACTED] only",
		"key:\n" + pemKey: "key:\n[REDACTED]",
		"QyNTUxOQAAACDk2WZP0s1TQSiAyxCLnBKhGXG7SSTYZfSHJZUsz5HMLgAAAJBdYyu1XWMr": "[REDACTED]",
		"-----END OPENSSH PRIVATE KEY-----":                                      "-----END OPENSSH PRIVATE KEY-----",
		"nothing secret":                                                         "nothing secret",
	} {
		if got := r.String(in); got != want {
			t.Errorf("redact(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (redactor{}).String("x"); got != "x" {
		t.Errorf("empty redactor: %q", got)
	}
}

func TestTail(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 50; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	got := tail(b.String(), 20)
	if !strings.HasPrefix(got, "line 31\n") || !strings.HasSuffix(got, "line 50") || strings.Count(got, "\n") != 19 {
		t.Errorf("tail: %q", got)
	}
}

type fakeHost string

func (f fakeHost) Name() string { return string(f) }
func (f fakeHost) Run(context.Context, string) (string, error) {
	return "", nil
}
func (f fakeHost) Upload(context.Context, string, []byte, fs.FileMode) error { return nil }
func (f fakeHost) Download(context.Context, string) ([]byte, error)          { return nil, nil }

// Each bounds concurrency, runs every host even after failures, and
// returns every failure sorted by node.
func TestEach(t *testing.T) {
	var hosts []fakeHost
	for _, n := range []string{"w-3", "cp-1", "w-1", "w-2", "cp-2", "w-4"} {
		hosts = append(hosts, fakeHost(n))
	}
	var running, peak, ran atomic.Int32
	err := Each(context.Background(), hosts, 2, func(_ context.Context, h fakeHost) error {
		n := running.Add(1)
		defer running.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(10 * time.Millisecond)
		ran.Add(1)
		if strings.HasPrefix(h.Name(), "w-") && h.Name() != "w-2" {
			return &RunError{Node: h.Name(), Command: "false", ExitCode: 1}
		}
		return nil
	})
	if peak.Load() > 2 || ran.Load() != 6 {
		t.Errorf("peak %d (limit 2), ran %d of 6", peak.Load(), ran.Load())
	}
	var es NodeErrors
	if !errors.As(err, &es) || len(es) != 3 || es[0].Node != "w-1" || es[1].Node != "w-3" || es[2].Node != "w-4" {
		t.Fatalf("errors: %v", err)
	}
	var re *RunError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "3 nodes failed") {
		t.Errorf("error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = Each(ctx, hosts, 1, func(context.Context, fakeHost) error { return nil })
	if !errors.As(err, &es) || len(es) != 6 || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
