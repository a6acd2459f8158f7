// Package cloudinit renders the NoCloud seed of a node: meta-data,
// user-data and network-config, built from Go values and marshalled as
// YAML. Everything here is pure: no I/O.
package cloudinit

import (
	"fmt"
	"net"
	"net/netip"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/secrets"
	"github.com/kprov/kprov/provision/spec"
)

// Names of the seed files on the cidata volume, as NoCloud reads them.
const (
	MetaDataFile      = "meta-data"
	UserDataFile      = "user-data"
	NetworkConfigFile = "network-config"
)

// NICName is the name the node's NIC gets, whatever the image calls it
// (ens3, enp1s0): Calico's interface=eth0 relies on it.
const NICName = "eth0"

// Seed is the content of a node's NoCloud seed. UserData holds the node's
// SSH host private key.
type Seed struct {
	MetaData      []byte
	UserData      []byte
	NetworkConfig []byte
}

// Format redacts UserData (it holds a private key) for every verb.
func (s Seed) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "cloudinit.Seed{MetaData:%q UserData:<redacted, %d bytes> NetworkConfig:%q}",
		s.MetaData, len(s.UserData), s.NetworkConfig)
}

var _ fmt.Formatter = Seed{}

// Files renders the seed of node n of cluster c. s must hold n's host key
// and the client's authorized key.
func Files(c *spec.Cluster, n plan.Node, s *secrets.Secrets) (Seed, error) {
	var seed Seed
	var err error
	if seed.MetaData, err = metaData(n); err != nil {
		return Seed{}, err
	}
	if seed.UserData, err = userData(c, n, s); err != nil {
		return Seed{}, err
	}
	if seed.NetworkConfig, err = networkConfig(c, n); err != nil {
		return Seed{}, err
	}
	return seed, nil
}

func metaData(n plan.Node) ([]byte, error) {
	if n.Name == "" || n.Domain == "" {
		return nil, fmt.Errorf("node %q has no name or domain name", n.Name)
	}
	// The instance ID must stay the same across boots, or cloud-init runs
	// its first-boot modules again (new host keys included).
	return yaml.Marshal(struct {
		InstanceID    string `json:"instance-id"`
		LocalHostname string `json:"local-hostname"`
	}{n.Domain, n.Name})
}

// marshalWithHeader marshals v as YAML after a header line.
func marshalWithHeader(header string, v any) ([]byte, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte(header+"\n"), b...), nil
}

// nodeErr is an error about n's seed.
func nodeErr(n plan.Node, format string, args ...any) error {
	return fmt.Errorf("cloud-init seed of node %s: %s", n.Name, fmt.Sprintf(format, args...))
}

// nodeAddr checks n's MAC and IP against the node CIDR and returns the IP
// with the CIDR's prefix length and the lowercase MAC.
func nodeAddr(c *spec.Cluster, n plan.Node) (netip.Prefix, string, error) {
	mac, err := net.ParseMAC(n.MAC)
	if err != nil || len(mac) != 6 {
		return netip.Prefix{}, "", nodeErr(n, "MAC %q is not an Ethernet address", n.MAC)
	}
	cidr, err := netip.ParsePrefix(c.Network.NodeCIDR)
	if err != nil {
		return netip.Prefix{}, "", nodeErr(n, "node_cidr: %v", err)
	}
	if !n.IP.IsValid() || !cidr.Contains(n.IP) {
		return netip.Prefix{}, "", nodeErr(n, "address %v is not in node_cidr %s", n.IP, cidr)
	}
	return netip.PrefixFrom(n.IP, cidr.Bits()), strings.ToLower(mac.String()), nil
}
