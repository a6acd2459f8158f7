package cloudinit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/judge"
)

// Debian's cloud-init, run by internal/judge, judges user-data and
// renders network-config as it does at boot.

func TestUserDataPassesCloudInitSchema(t *testing.T) {
	for _, n := range testNodes() {
		seed := render(t, testCluster(), n)
		if err := judge.UserData(t, seed.UserData); err != nil {
			t.Errorf("%s: %v", n.Name, err)
		}
	}
}

// TestCloudInitSchemaRejects shows the judge says no: a wrong type, and the
// empty ssh_genkeytypes list kprov avoids (the schema wants one item).
func TestCloudInitSchemaRejects(t *testing.T) {
	good := render(t, testCluster(), testNodes()[0]).UserData
	for name, tc := range map[string]struct {
		doc  []byte
		want string
	}{
		"users: 5": {[]byte("#cloud-config\nusers: 5\n"), "users: 5 is not of type"},
		"empty ssh_genkeytypes": {bytes.Replace(good, []byte("ssh_genkeytypes:\n- ed25519"), []byte("ssh_genkeytypes: []"), 1),
			"ssh_genkeytypes: [] is too short"},
	} {
		t.Run(name, func(t *testing.T) {
			if bytes.Equal(tc.doc, good) {
				t.Fatal("the edit did not apply")
			}
			err := judge.UserData(t, tc.doc)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("output lacks %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestNetworkConfigRendersWithCloudInit has cloud-init turn network-config
// into systemd-networkd files, as it does at boot with the networkd
// renderer, and checks the result.
func TestNetworkConfigRendersWithCloudInit(t *testing.T) {
	n := testNodes()[0]
	seed := render(t, testCluster(), n)
	root, err := judge.Networkd(t, seed.NetworkConfig)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "etc/systemd/network/10-cloud-init-eth0.network"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{
		"Name=eth0", "MACAddress=" + n.MAC, "Address=10.17.0.23/24", "MTUBytes=1450",
		"Destination=0.0.0.0/0", "Gateway=10.17.0.1", "DNS=10.17.0.1", "DHCP=no",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("networkd unit lacks %s:\n%s", want, unit)
		}
	}
}

// TestCloudInitRejectsDefaultRoute pins why routes use 0.0.0.0/0: the
// cloud-init of Debian 12 cannot parse netplan's "default".
func TestCloudInitRejectsDefaultRoute(t *testing.T) {
	seed := render(t, testCluster(), testNodes()[0])
	doc := bytes.Replace(seed.NetworkConfig, []byte("to: 0.0.0.0/0"), []byte("to: default"), 1)
	if bytes.Equal(doc, seed.NetworkConfig) {
		t.Fatal("the edit did not apply")
	}
	_, err := judge.Networkd(t, doc)
	if err == nil {
		t.Skip("this cloud-init accepts `to: default`; 0.0.0.0/0 is still needed for Debian 12's 22.4")
	}
	if !strings.Contains(err.Error(), "Address default is not a valid ip") {
		t.Errorf("failed for another reason: %v", err)
	}
}
