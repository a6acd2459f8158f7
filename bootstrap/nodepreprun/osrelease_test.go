package nodepreprun

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/kprov/kprov/provision/spec"
)

func TestDebianFamily(t *testing.T) {
	for _, tc := range []struct {
		osRelease, pretty string
		ok                bool
	}{
		{"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nID=debian\n", "Debian GNU/Linux 12 (bookworm)", true},
		{"PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nID=ubuntu\nID_LIKE=debian\n", "Ubuntu 24.04.1 LTS", true},
		{"PRETTY_NAME=\"Linux Mint 22\"\nID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", "Linux Mint 22", true},
		{"PRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", "Rocky Linux 9.4 (Blue Onyx)", false},
		{"NAME=\"Alpine Linux\"\nID=alpine\n", "alpine", false},
		{"", "an unknown system (no /etc/os-release)", false},
	} {
		pretty, ok := debianFamily(tc.osRelease)
		if pretty != tc.pretty || ok != tc.ok {
			t.Errorf("%q: %q %v, want %q %v", tc.osRelease, pretty, ok, tc.pretty, tc.ok)
		}
	}
}

// osHost answers os-release as a Rocky Linux node and records the rest.
type osHost struct{ ran []string }

func (h *osHost) Name() string { return "worker-3" }
func (h *osHost) Run(_ context.Context, cmd string) (string, error) {
	h.ran = append(h.ran, cmd)
	if strings.HasPrefix(cmd, "cat /etc/os-release") {
		return "PRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\nID=\"rocky\"\n", nil
	}
	return "", nil
}
func (h *osHost) Upload(context.Context, string, []byte, fs.FileMode) error { return nil }
func (h *osHost) Download(context.Context, string) ([]byte, error)          { return nil, nil }

// A node that is not Debian-family is refused before anything runs on it.
func TestNodeRefusesOtherSystems(t *testing.T) {
	s, diags := spec.NewLoader().Load("c.hcl", []byte(`cluster "c" {
  image { source = "/srv/d.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
}`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	h := &osHost{}
	_, err := Node(context.Background(), h, s.Cluster, Options{})
	var oe *OSError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), "node worker-3 runs Rocky Linux 9.4 (Blue Onyx): kprov prepares Debian-family nodes") {
		t.Fatalf("err = %v", err)
	}
	if len(h.ran) != 1 {
		t.Errorf("ran %q after finding the system unsupported", h.ran)
	}
}
