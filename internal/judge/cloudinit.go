package judge

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"
)

const cloudInitInstall = "apt-get install -y cloud-init"

// CloudInitSource is the path of rel in cloud-init's source (upstream's
// cloud-init/ folder, UpstreamDir).
func CloudInitSource(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(UpstreamDir(t, "cloud-init/"+rel), "cloud-init", filepath.FromSlash(rel))
}

// NetworkConfig checks a network-config v2 document against cloud-init's
// own JSON schema, which takes it bare or under a top-level network: key.
// It needs no program, so it runs under -short too.
func NetworkConfig(t testing.TB, doc []byte) error {
	t.Helper()
	path := CloudInitSource(t, "cloudinit/config/schemas/schema-network-config-v2.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	schema, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(path, schema); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("network-config is not YAML: %w", err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

// UserData has Debian's cloud-init check a user-data document with
// `cloud-init schema`; deprecated keys are a rejection too.
func UserData(t testing.TB, doc []byte) error {
	t.Helper()
	bin := program(t, "cloud-init", cloudInitInstall)
	out, err := exec.Command(bin, "schema", "--config-file", writeTemp(t, "user-data", doc)).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("Valid cloud-config")) {
		return fmt.Errorf("cloud-init schema rejects the user-data: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("DEPRECATED")) {
		return fmt.Errorf("cloud-init schema: deprecated keys:\n%s", out)
	}
	return nil
}

// Networkd has cloud-init turn a network-config document into
// systemd-networkd files, as it does at boot on Debian, and returns the
// root they were written under (etc/systemd/network/...).
func Networkd(t testing.TB, doc []byte) (string, error) {
	t.Helper()
	bin := program(t, "cloud-init", cloudInitInstall)
	root := filepath.Join(t.TempDir(), "root")
	out, err := exec.Command(bin, "devel", "net-convert", "-p", writeTemp(t, "network-config", doc), "-k", "yaml",
		"-d", root, "-D", "debian", "-O", "networkd").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("cloud-init net-convert: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	return root, nil
}
