package cloudinit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"testing/cryptotest"

	"golang.org/x/crypto/ssh"
	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/internal/golden"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/secrets"
	"github.com/kprov/kprov/provision/spec"
)

// testCluster is a spec with every value cloudinit reads set explicitly.
func testCluster() *spec.Cluster {
	return &spec.Cluster{
		Name: "lab",
		Network: &spec.Network{
			Mode: "nat", NodeCIDR: "10.17.0.0/24", Gateway: "10.17.0.1", MTU: 1450,
		},
		SSH: &spec.SSH{User: "kprov"},
	}
}

// testNodes are literal planned nodes, so a change in plan's address
// derivation does not move these golden files.
func testNodes() []plan.Node {
	return []plan.Node{
		{Name: "cp-1", Domain: "kprov-lab-cp-1", Pool: "cp", Index: 1, Role: spec.RoleControlPlane,
			MAC: "52:54:00:0a:1b:2c", IP: netip.MustParseAddr("10.17.0.23")},
		{Name: "worker-1", Domain: "kprov-lab-worker-1", Pool: "worker", Index: 1, Role: spec.RoleWorker,
			MAC: "52:54:00:3d:4e:5f", IP: netip.MustParseAddr("10.17.0.187")},
	}
}

// testSecrets are deterministic: keys from fixed seeds, and a fixed global
// random source for the check bytes OpenSSH private keys carry.
func testSecrets(t *testing.T) *secrets.Secrets {
	t.Helper()
	cryptotest.SetGlobalRandom(t, 1)
	key := func(seed byte, comment string) ([]byte, string) {
		priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
		block, err := ssh.MarshalPrivateKey(priv, comment)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := ssh.NewPublicKey(priv.Public())
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(block), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	}
	s := &secrets.Secrets{
		BootstrapToken: "abcdef.0123456789abcdef",
		CertificateKey: strings.Repeat("0f", 32),
		HostKeys:       map[string]secrets.HostKey{},
	}
	var pub string
	s.SSHPrivateKey, pub = key(1, "kprov-lab")
	s.SSHAuthorizedKey = pub + " kprov-lab"
	for i, n := range testNodes() {
		priv, pub := key(byte(10+i), "")
		s.HostKeys[n.Name] = secrets.HostKey{Private: priv, Public: pub}
	}
	return s
}

func render(t *testing.T, c *spec.Cluster, n plan.Node) Seed {
	t.Helper()
	seed, err := Files(c, n, testSecrets(t))
	if err != nil {
		t.Fatal(err)
	}
	return seed
}

func TestGolden(t *testing.T) {
	for _, n := range testNodes() {
		t.Run(n.Name, func(t *testing.T) {
			seed := render(t, testCluster(), n)
			golden.Assert(t, n.Name+"/"+MetaDataFile, seed.MetaData)
			golden.Assert(t, n.Name+"/"+UserDataFile, seed.UserData)
			golden.Assert(t, n.Name+"/"+NetworkConfigFile, seed.NetworkConfig)
		})
	}
}

func TestDeterministic(t *testing.T) {
	n := testNodes()[0]
	a, b := render(t, testCluster(), n), render(t, testCluster(), n)
	if !bytes.Equal(a.UserData, b.UserData) || !bytes.Equal(a.NetworkConfig, b.NetworkConfig) || !bytes.Equal(a.MetaData, b.MetaData) {
		t.Error("two renders differ")
	}
}

// TestUserDataCarriesSecrets reads the YAML back: the keys survive
// marshalling byte for byte, and the header is cloud-init's.
func TestUserDataCarriesSecrets(t *testing.T) {
	s := testSecrets(t)
	n := testNodes()[1]
	seed, err := Files(testCluster(), n, s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(seed.UserData, []byte("#cloud-config\n")) {
		t.Fatalf("user-data starts %q", seed.UserData[:20])
	}
	var got cloudConfig
	if err := yaml.UnmarshalStrict(seed.UserData, &got); err != nil {
		t.Fatal(err)
	}
	hk := s.HostKeys[n.Name]
	if got.SSHKeys.ED25519Private != string(hk.Private) || got.SSHKeys.ED25519Public != hk.Public {
		t.Error("host key changed in user-data")
	}
	if got.Users[0].SSHAuthorizedKeys[0] != s.SSHAuthorizedKey || got.Users[0].Name != "kprov" {
		t.Errorf("user %+v", got.Users[0])
	}
	if got.Hostname != "worker-1" || got.FQDN != "worker-1.lab.internal" {
		t.Errorf("hostname %q fqdn %q", got.Hostname, got.FQDN)
	}
}

func TestNetworkModes(t *testing.T) {
	n := testNodes()[0]
	for _, tc := range []struct {
		mode, gateway string
		nameservers   []string
		wantGW        string
		wantDNS       []string
	}{
		{"nat", "", nil, "10.17.0.1", []string{"10.17.0.1"}},
		{"isolated", "", nil, "10.17.0.1", nil},
		{"bridge", "10.17.0.254", nil, "10.17.0.254", nil},
		{"bridge", "10.17.0.254", []string{"10.17.0.53", "10.17.0.54"}, "10.17.0.254", []string{"10.17.0.53", "10.17.0.54"}},
		{"nat", "", []string{"10.17.0.53"}, "10.17.0.1", []string{"10.17.0.53"}},
	} {
		c := testCluster()
		c.Network.Mode, c.Network.Gateway, c.Network.Nameservers = tc.mode, tc.gateway, tc.nameservers
		var got networkV2
		if err := yaml.UnmarshalStrict(render(t, c, n).NetworkConfig, &got); err != nil {
			t.Fatal(err)
		}
		eth := got.Ethernets[NICName]
		var dns []string
		if eth.Nameservers != nil {
			dns = eth.Nameservers.Addresses
		}
		if eth.Routes[0].Via != tc.wantGW || strings.Join(dns, ",") != strings.Join(tc.wantDNS, ",") {
			t.Errorf("%s %v: routes %+v nameservers %v", tc.mode, tc.nameservers, eth.Routes, dns)
		}
		if eth.MTU != 1450 || eth.Addresses[0] != "10.17.0.23/24" || eth.Match.MACAddress != n.MAC {
			t.Errorf("%s: %+v", tc.mode, eth)
		}
	}
}

func TestErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*spec.Cluster, *plan.Node, *secrets.Secrets)
		want string
	}{
		"no host key":       {func(_ *spec.Cluster, n *plan.Node, _ *secrets.Secrets) { n.Name = "cp-9" }, "no SSH host key"},
		"no authorized key": {func(_ *spec.Cluster, _ *plan.Node, s *secrets.Secrets) { s.SSHAuthorizedKey = "" }, "no SSH authorized key"},
		"bad MAC":           {func(_ *spec.Cluster, n *plan.Node, _ *secrets.Secrets) { n.MAC = "52:54:00" }, "not an Ethernet address"},
		"IP outside CIDR":   {func(_ *spec.Cluster, n *plan.Node, _ *secrets.Secrets) { n.IP = netip.MustParseAddr("10.18.0.5") }, "not in node_cidr"},
		"gateway outside":   {func(c *spec.Cluster, _ *plan.Node, _ *secrets.Secrets) { c.Network.Gateway = "10.18.0.1" }, "gateway 10.18.0.1 is not in"},
		"bridge, no gateway": {func(c *spec.Cluster, _ *plan.Node, _ *secrets.Secrets) {
			c.Network.Mode, c.Network.Gateway = "bridge", ""
		}, "must be set in bridge mode"},
	} {
		t.Run(name, func(t *testing.T) {
			c, n, s := testCluster(), testNodes()[0], testSecrets(t)
			tc.edit(c, &n, s)
			_, err := Files(c, n, s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSeedPrintsRedacted(t *testing.T) {
	s := testSecrets(t)
	seed := render(t, testCluster(), testNodes()[0])
	body := strings.Split(string(s.HostKeys["cp-1"].Private), "\n")[2]
	for _, v := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		if out := fmt.Sprintf(v, seed); strings.Contains(out, body) || !strings.Contains(out, "redacted") {
			t.Errorf("%s shows the host key or no redaction: %q", v, out)
		}
	}
}
