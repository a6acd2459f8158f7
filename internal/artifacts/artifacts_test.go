package artifacts_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/internal/golden"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

var examples = []string{"cluster", "modern", "lab"}

// labHost is Debian 12's libvirt under software emulation.
var labHost = plan.Host{LibvirtVersion: plan.LibvirtVersion(9, 0, 0), DomainType: "qemu"}

func load(t testing.TB, path string, vars ...string) *spec.Cluster {
	t.Helper()
	l := spec.NewLoader()
	l.Vars = vars
	s, diags := l.LoadFile(path)
	if diags.HasErrors() {
		t.Fatalf("%s: %v", path, diags)
	}
	return s.Cluster
}

// fixedSecrets copies the committed test state of a cluster (test-only
// keys) into a private folder with the modes state insists on.
func fixedSecrets(t testing.TB, cluster string) *state.Secrets {
	t.Helper()
	src := filepath.Join("testdata", "state", cluster)
	dst := filepath.Join(t.TempDir(), cluster)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := state.Load(dst)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func build(t testing.TB, c *spec.Cluster, s *state.Secrets) *artifacts.Set {
	t.Helper()
	nodes, err := artifacts.Nodes(c)
	if err != nil {
		t.Fatal(err)
	}
	set, err := artifacts.Build(c, nodes, labHost, s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// Every rendered artifact of every example is kept as a golden file.
func TestGoldenExamples(t *testing.T) {
	for _, name := range examples {
		t.Run(name, func(t *testing.T) {
			c := load(t, "../../examples/"+name+".hcl")
			set := build(t, c, fixedSecrets(t, c.Name))
			if len(set.Files) < 5*len(set.Nodes) {
				t.Fatalf("only %d files for %d nodes", len(set.Files), len(set.Nodes))
			}
			for _, f := range set.Files {
				golden.Assert(t, name+"/"+f.Path, f.Data)
			}
		})
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	c := load(t, "../../examples/modern.hcl")
	s := fixedSecrets(t, c.Name)
	a, b := build(t, c, s), build(t, load(t, "../../examples/modern.hcl"), s)
	if len(a.Files) != len(b.Files) {
		t.Fatalf("%d files, then %d", len(a.Files), len(b.Files))
	}
	for i := range a.Files {
		if a.Files[i].Path != b.Files[i].Path || !bytes.Equal(a.Files[i].Data, b.Files[i].Data) {
			t.Errorf("%s differs between two builds", a.Files[i].Path)
		}
	}
}

// Files carrying key material or join credentials are marked secret, and
// only those.
func TestSecretsMarked(t *testing.T) {
	c := load(t, "../../examples/cluster.hcl")
	s := fixedSecrets(t, c.Name)
	set := build(t, c, s)
	for _, f := range set.Files {
		holds := bytes.Contains(f.Data, []byte("PRIVATE KEY")) || bytes.Contains(f.Data, []byte(s.BootstrapToken)) ||
			bytes.Contains(f.Data, []byte(s.CertificateKey))
		if holds != f.Secret {
			t.Errorf("%s: holds secrets %v, marked secret %v", f.Path, holds, f.Secret)
		}
	}
}

// A node gets a different hash when its definition changes, and only then.
func TestNodeHash(t *testing.T) {
	c := load(t, "../../examples/cluster.hcl")
	nodes, err := artifacts.Nodes(c)
	if err != nil {
		t.Fatal(err)
	}
	h := artifacts.NodeHash(c, nodes[0])
	if h != artifacts.NodeHash(c, nodes[0]) {
		t.Fatal("hash is not stable")
	}
	bigger := nodes[0]
	bigger.MemoryMiB *= 2
	if artifacts.NodeHash(c, bigger) == h {
		t.Error("memory change did not change the hash")
	}
	if artifacts.NodeHash(c, nodes[1]) == h {
		t.Error("two nodes share a hash")
	}
	// A new Kubernetes version is an upgrade, not a new definition; the
	// legacy hash, which held the version, still tells them apart.
	legacy := artifacts.LegacyNodeHash(c, nodes[0])
	newer := *c
	newer.KubernetesVersion = "v1.21.15"
	if artifacts.NodeHash(&newer, nodes[0]) != h {
		t.Error("the Kubernetes version changed the hash")
	}
	if artifacts.LegacyNodeHash(&newer, nodes[0]) == legacy || legacy == h {
		t.Error("the legacy hash does not hold the version")
	}
}

// The ingress addresses are never given to a node.
func TestIngressAddressesStayFree(t *testing.T) {
	c := load(t, "../../examples/cluster.hcl", "workers=50")
	nodes, err := artifacts.Nodes(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.IP.String() == c.Ingress.Addresses[0] {
			t.Errorf("node %s got the ingress address %s", n.Name, n.IP)
		}
	}
}
