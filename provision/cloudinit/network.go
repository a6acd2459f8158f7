package cloudinit

import (
	"sigs.k8s.io/yaml"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

// networkV2 is network-config version 2 in NoCloud's bare form (no
// top-level network: key).
type networkV2 struct {
	Version   int                 `json:"version"`
	Ethernets map[string]ethernet `json:"ethernets"`
}

type ethernet struct {
	Match       match        `json:"match"`
	SetName     string       `json:"set-name"`
	MTU         int          `json:"mtu"`
	Addresses   []string     `json:"addresses"`
	Routes      []route      `json:"routes"`
	Nameservers *nameservers `json:"nameservers,omitempty"`
}

type match struct {
	MACAddress string `json:"macaddress"`
}

type route struct {
	To  string `json:"to"`
	Via string `json:"via"`
}

type nameservers struct {
	Addresses []string `json:"addresses"`
}

func networkConfig(c *spec.Cluster, n plan.Node) ([]byte, error) {
	addr, mac, err := nodeAddr(c, n)
	if err != nil {
		return nil, err
	}
	// plan.NodeNetwork defaults the gateway to where libvirt puts the host
	// on networks it creates; a bridge has no such convention.
	if c.Network.Mode == "bridge" && c.Network.Gateway == "" {
		return nil, nodeErr(n, "network gateway must be set in bridge mode")
	}
	_, gw, err := plan.NodeNetwork(c)
	if err != nil {
		return nil, nodeErr(n, "%v", err)
	}
	if !addr.Masked().Contains(gw) {
		return nil, nodeErr(n, "gateway %s is not in node_cidr %s", gw, addr.Masked())
	}
	// "0.0.0.0/0", not netplan's "default": cloud-init 22.4 (Debian 12)
	// fails on "default" ("Address default is not a valid ip address").
	to := "0.0.0.0/0"
	if gw.Is6() {
		to = "::/0"
	}
	eth := ethernet{
		Match:     match{MACAddress: mac},
		SetName:   NICName,
		MTU:       c.Network.MTU,
		Addresses: []string{addr.String()},
		Routes:    []route{{To: to, Via: gw.String()}},
	}
	// The spec's servers; else libvirt's NAT network serves DNS on the
	// gateway, and the other modes have none (kprov then keeps CoreDNS
	// from forwarding: bootstrap/addonsrun LocalDNS).
	switch {
	case len(c.Network.Nameservers) > 0:
		eth.Nameservers = &nameservers{Addresses: c.Network.Nameservers}
	case c.Network.Mode == "nat":
		eth.Nameservers = &nameservers{Addresses: []string{gw.String()}}
	}
	return yaml.Marshal(networkV2{Version: 2, Ethernets: map[string]ethernet{NICName: eth}})
}
