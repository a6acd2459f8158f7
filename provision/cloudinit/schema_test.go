package cloudinit

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/judge"
)

// cloud-init's own JSON schema for network-config v2, applied by
// internal/judge, judges every network-config.

func TestNetworkConfigMatchesCloudInitSchema(t *testing.T) {
	for _, n := range testNodes() {
		seed := render(t, testCluster(), n)
		if err := judge.NetworkConfig(t, seed.NetworkConfig); err != nil {
			t.Errorf("%s: %v", n.Name, err)
		}
	}
}

// TestSchemaAcceptsUpstreamExamples shows the validator passes real
// network-config, bare and under network:.
func TestSchemaAcceptsUpstreamExamples(t *testing.T) {
	for _, rel := range []string{
		"extracted-from-nocloud-rst/network-config",
		"tests/unittests/net/artifacts/no_matching_mac_v2.yaml",
	} {
		b, err := os.ReadFile(judge.CloudInitSource(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		if err := judge.NetworkConfig(t, b); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
}

// TestSchemaRejects shows the validator is not a yes-machine. The photon
// artifact is a renderer test input that upstream's own schema rejects:
// routes there carry a table key, which the schema does not allow.
func TestSchemaRejects(t *testing.T) {
	good := render(t, testCluster(), testNodes()[0]).NetworkConfig
	photon, err := os.ReadFile(judge.CloudInitSource(t, "tests/unittests/net/artifacts/photon_net_config_v2.yaml"))
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
			err := judge.NetworkConfig(t, tc.doc)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error does not mention %q:\n%v", tc.want, err)
			}
		})
	}
}
