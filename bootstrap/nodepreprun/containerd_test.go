package nodepreprun

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/registry"
	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/provision/spec"
)

// fakeNode runs commands in a real sh with /etc/containerd moved under a
// temporary root, records systemctl instead of running it, and writes
// uploads below the root (failing, as SFTP does, when the folder is
// missing).
type fakeNode struct {
	root     string
	runs     []string
	uploads  []string
	restarts int
}

var _ remote.Node = (*fakeNode)(nil)

func (n *fakeNode) Name() string { return "worker-1" }

func (n *fakeNode) Run(ctx context.Context, cmd string) (string, error) {
	n.runs = append(n.runs, cmd)
	switch {
	case cmd == "systemctl restart containerd":
		n.restarts++
		return "", nil
	case strings.HasPrefix(cmd, "systemctl is-enabled containerd"):
		return "enabled\nactive\n", nil
	case strings.HasPrefix(cmd, "systemctl"):
		return "", fmt.Errorf("unexpected %q", cmd)
	}
	local := strings.ReplaceAll(cmd, "/etc/containerd", n.root+"/etc/containerd")
	out, err := exec.CommandContext(ctx, "sh", "-c", local).CombinedOutput()
	// The node's paths, as the real node prints them.
	return strings.ReplaceAll(string(out), n.root, ""), err
}

func (n *fakeNode) Upload(_ context.Context, path string, data []byte, mode fs.FileMode) error {
	n.uploads = append(n.uploads, path)
	return os.WriteFile(filepath.Join(n.root, path), data, mode)
}

func (n *fakeNode) Download(_ context.Context, path string) ([]byte, error) {
	return os.ReadFile(filepath.Join(n.root, path))
}

func (n *fakeNode) reset() { n.runs, n.uploads, n.restarts = nil, nil, 0 }

func (n *fakeNode) exists(path string) bool {
	_, err := os.Stat(filepath.Join(n.root, path))
	return err == nil
}

func clusterWith(mirrors ...*spec.Mirror) *spec.Cluster {
	return &spec.Cluster{KubernetesVersion: "1.30.2", Registries: &spec.Registries{Mirrors: mirrors}}
}

// The containerd step on a node: the first run writes every file and
// restarts once; a second run writes nothing and restarts nothing; a
// changed mirror rewrites its hosts.toml only; a dropped host's folder
// goes, a folder kprov did not write stays.
func TestContainerdStep(t *testing.T) {
	ctx := context.Background()
	specDir := t.TempDir()
	ca := "-----BEGIN CERTIFICATE-----\nTUlJQg==\n-----END CERTIFICATE-----\n"
	if err := os.WriteFile(filepath.Join(specDir, "lab-ca.pem"), []byte(ca), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &fakeNode{root: t.TempDir()}
	if err := os.MkdirAll(filepath.Join(n.root, "/etc/containerd"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Debian's own configuration, and a hosts folder someone else wrote.
	os.WriteFile(filepath.Join(n.root, registry.ConfigFile), []byte("# debian\n"), 0o644)
	theirs := registry.HostDir("theirs.example") + "/hosts.toml"
	os.MkdirAll(filepath.Join(n.root, registry.HostDir("theirs.example")), 0o755)
	os.WriteFile(filepath.Join(n.root, theirs), []byte("server = \"https://theirs.example\"\n"), 0o644)

	k8s := &spec.Mirror{Registry: "registry.k8s.io", Endpoints: []string{"https://mirror.example:5000"}, CAFile: "lab-ca.pem"}
	quay := &spec.Mirror{Registry: "quay.io", Endpoints: []string{"https://mirror.example:5000"}}
	step := func(c *spec.Cluster) Result {
		t.Helper()
		files, err := containerdFiles(c, Options{SpecDir: specDir})
		if err != nil {
			t.Fatal(err)
		}
		n.reset()
		r := Result{Node: n.Name()}
		if err := containerd(ctx, n, files, &r); err != nil {
			t.Fatalf("%v\nruns: %q", err, n.runs)
		}
		return r
	}

	r := step(clusterWith(k8s, quay))
	want := []string{
		registry.ConfigFile,
		registry.HostDir("quay.io") + "/hosts.toml",
		registry.HostDir("registry.k8s.io") + "/hosts.toml",
		registry.HostDir("registry.k8s.io") + "/lab-ca.crt",
	}
	if !slices.Equal(n.uploads, want) {
		t.Errorf("first run uploaded %q, want %q", n.uploads, want)
	}
	if n.restarts != 1 || len(r.Changed) != len(want)+1 {
		t.Errorf("first run: %d restarts, changes %q", n.restarts, r.Changed)
	}
	got, _ := os.ReadFile(filepath.Join(n.root, registry.ConfigFile))
	if !strings.Contains(string(got), "sandbox_image = 'registry.k8s.io/pause:3.9'") || !strings.Contains(string(got), "SystemdCgroup = true") {
		t.Errorf("config.toml on the node:\n%s", got)
	}

	r = step(clusterWith(k8s, quay))
	if len(n.uploads) != 0 || n.restarts != 0 || len(r.Changed) != 0 {
		t.Errorf("second run: uploads %q, %d restarts, changes %q", n.uploads, n.restarts, r.Changed)
	}
	if len(n.runs) != 2 {
		t.Errorf("second run ran %d commands, want the look and the enabled check: %q", len(n.runs), n.runs)
	}

	moved := &spec.Mirror{Registry: "quay.io", Endpoints: []string{"https://other.example"}}
	r = step(clusterWith(k8s, moved))
	if want := []string{registry.HostDir("quay.io") + "/hosts.toml"}; !slices.Equal(n.uploads, want) || n.restarts != 1 {
		t.Errorf("changed mirror: uploads %q, %d restarts (want %q and 1)", n.uploads, n.restarts, want)
	}

	// registry.k8s.io loses its CA, quay.io goes.
	plain := &spec.Mirror{Registry: "registry.k8s.io", Endpoints: []string{"https://mirror.example:5000"}}
	r = step(clusterWith(plain))
	if want := []string{registry.HostDir("registry.k8s.io") + "/hosts.toml"}; !slices.Equal(n.uploads, want) || n.restarts != 1 {
		t.Errorf("dropped host: uploads %q, %d restarts (want %q and 1)", n.uploads, n.restarts, want)
	}
	if n.exists(registry.HostDir("quay.io")) {
		t.Errorf("the dropped host's folder is still there")
	}
	if n.exists(registry.HostDir("registry.k8s.io") + "/lab-ca.crt") {
		t.Errorf("the CA no longer named is still there")
	}
	if !n.exists(theirs) {
		t.Errorf("a hosts folder kprov did not write was removed")
	}
	for _, c := range []string{"removed " + registry.HostDir("quay.io"), "removed " + registry.HostDir("registry.k8s.io") + "/lab-ca.crt", "restarted"} {
		if !slices.ContainsFunc(r.Changed, func(s string) bool { return strings.Contains(s, c) }) {
			t.Errorf("changes %q lack %q", r.Changed, c)
		}
	}
	r = step(clusterWith(plain))
	if len(r.Changed) != 0 || n.restarts != 0 {
		t.Errorf("run after the removal: %d restarts, changes %q", n.restarts, r.Changed)
	}
}

// A spec whose ca_file cannot be read fails before any command runs, and
// says where relative paths start.
func TestContainerdFilesMissingCA(t *testing.T) {
	c := clusterWith(&spec.Mirror{Registry: "quay.io", Endpoints: []string{"https://m.example"}, CAFile: "nope.pem"})
	n := &fakeNode{root: t.TempDir()}
	_, err := Node(context.Background(), n, c, Options{SpecDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "ca_file of the quay.io mirror") || !strings.Contains(err.Error(), "spec's folder") {
		t.Errorf("error %v", err)
	}
	if len(n.runs) != 0 {
		t.Errorf("commands ran: %q", n.runs)
	}
}

// The look command is one sh command whatever the paths hold.
func TestLookCommandQuotes(t *testing.T) {
	cmd := lookCommand([]registry.File{{Path: "/etc/containerd/certs.d/a'b; touch x/hosts.toml"}})
	if !strings.Contains(cmd, `'/etc/containerd/certs.d/a'\''b; touch x/hosts.toml'`) {
		t.Errorf("path not quoted: %s", cmd)
	}
	if out, err := exec.Command("sh", "-n", "-c", cmd).CombinedOutput(); err != nil {
		t.Errorf("sh -n: %v %s", err, out)
	}
}
