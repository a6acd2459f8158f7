package cloudinit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

// upstream is a path under /work/shared/upstream/cloud-init, found from the
// repository root (the folder holding go.mod) as ../shared/upstream.
func upstream(t *testing.T, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "upstream", "cloud-init", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("upstream test input missing: %v", err)
	}
	return p
}

// networkSchema is cloud-init's own JSON schema for network-config v2. It
// takes both the bare form and the form under a top-level network: key.
func networkSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := upstream(t, "cloudinit/config/schemas/schema-network-config-v2.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func validateYAML(t *testing.T, sch *jsonschema.Schema, y []byte) error {
	t.Helper()
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

func TestNetworkConfigMatchesCloudInitSchema(t *testing.T) {
	sch := networkSchema(t)
	for _, n := range testNodes() {
		seed := render(t, testCluster(), n)
		if err := validateYAML(t, sch, seed.NetworkConfig); err != nil {
			t.Errorf("%s: %v", n.Name, err)
		}
	}
}

// TestSchemaAcceptsUpstreamExamples shows the validator passes real
// network-config, bare and under network:.
func TestSchemaAcceptsUpstreamExamples(t *testing.T) {
	sch := networkSchema(t)
	for _, rel := range []string{
		"extracted-from-nocloud-rst/network-config",
		"tests/unittests/net/artifacts/no_matching_mac_v2.yaml",
	} {
		b, err := os.ReadFile(upstream(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := validateYAML(t, sch, b); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
}

// TestSchemaRejects shows the validator is not a yes-machine. The photon
// artifact is a renderer test input that upstream's own schema rejects:
// routes there carry a table key, which the schema does not allow.
func TestSchemaRejects(t *testing.T) {
	sch := networkSchema(t)
	good := render(t, testCluster(), testNodes()[0]).NetworkConfig
	photon, err := os.ReadFile(upstream(t, "tests/unittests/net/artifacts/photon_net_config_v2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		doc  []byte
		want string
	}{
		"mtu not a number": {bytes.Replace(good, []byte("mtu: 1450"), []byte("mtu: big"), 1), "/ethernets/eth0/mtu': got string, want integer"},
		"unknown route key": {bytes.Replace(good, []byte("via: 10.17.0.1"), []byte("via: 10.17.0.1\n      onlink: true"), 1),
			"additional properties 'onlink' not allowed"},
		"unknown top-level key": {append([]byte("wifi: {}\n"), good...), "additional properties 'wifi' not allowed"},
		"version 1":             {bytes.Replace(good, []byte("version: 2"), []byte("version: 1"), 1), "/version': value must be 2"},
		"photon artifact":       {photon, "additional properties 'table' not allowed"},
	} {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(tc.doc, good) {
				t.Fatal("the edit did not apply")
			}
			err := validateYAML(t, sch, tc.doc)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}
