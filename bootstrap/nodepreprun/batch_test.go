package nodepreprun

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/nodeprep"
)

// shellHost runs read-only commands in a real shell on this machine and
// records (without running) the ones that would change it.
type shellHost struct{ changes []string }

func (h *shellHost) Name() string { return "local" }

func (h *shellHost) Run(ctx context.Context, cmd string) (string, error) {
	if strings.HasPrefix(cmd, "modprobe ") || strings.HasPrefix(cmd, "sysctl -q -w ") {
		h.changes = append(h.changes, cmd)
		return "", nil
	}
	out, err := exec.CommandContext(ctx, "sh", "-c", cmd).CombinedOutput()
	return string(out), err
}

func (h *shellHost) Upload(context.Context, string, []byte, fs.FileMode) error { return nil }

func (h *shellHost) Download(context.Context, string) ([]byte, error) { return nil, nil }

// The one-command checks of modules and sysctls find exactly what is
// missing or different on a real machine.
func TestBatchedChecks(t *testing.T) {
	if _, err := os.Stat("/proc/sys/net/ipv4/ip_forward"); err != nil {
		t.Fatalf("no /proc/sys here: %v", err)
	}
	fwd, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	if err != nil {
		t.Fatal(err)
	}
	other := "1"
	if strings.TrimSpace(string(fwd)) == "1" {
		other = "0"
	}
	loaded := "kernel" // /sys/module/kernel always exists
	p := nodeprep.Plan{
		Modules: []string{loaded, "kprov_no_such_module", "kprov_nor this"},
		Sysctls: []nodeprep.Sysctl{
			{Key: "net.ipv4.ip_forward", Value: strings.TrimSpace(string(fwd))},
			{Key: "net.ipv4.conf.all.forwarding", Value: "x"},
			{Key: "net.ipv4.ip_forward", Value: other},
		},
	}
	h := &shellHost{}
	var r Result
	if err := modules(context.Background(), h, p, &r); err != nil {
		t.Fatal(err)
	}
	if err := sysctls(context.Background(), h, p, &r); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"modprobe -a kprov_no_such_module 'kprov_nor this'",
		"sysctl -q -w 'net.ipv4.conf.all.forwarding=x'",
		"sysctl -q -w 'net.ipv4.ip_forward=" + other + "'",
	}
	if strings.Join(h.changes, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(h.changes, "\n"), strings.Join(want, "\n"))
	}
}
