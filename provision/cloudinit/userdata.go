package cloudinit

import (
	"strings"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/secrets"
	"github.com/kprov/kprov/provision/spec"
)

// DomainSuffix ends every node's FQDN: <node>.<cluster>.internal. The
// .internal top-level domain is reserved for private networks.
const DomainSuffix = "internal"

// cloudConfig is the part of cloud-init's cloud-config kprov uses. Fields
// without omitempty are always written: false is a choice, not a default.
type cloudConfig struct {
	Hostname string `json:"hostname"`
	FQDN     string `json:"fqdn"`
	// Keep the short name as the host name: it is the Kubernetes node name.
	PreferFQDNOverHostname bool `json:"prefer_fqdn_over_hostname"`
	// Labs have no DNS; sudo must still resolve the host name.
	ManageEtcHosts bool     `json:"manage_etc_hosts"`
	Users          []user   `json:"users"`
	SSHPwauth      bool     `json:"ssh_pwauth"`
	DisableRoot    bool     `json:"disable_root"`
	SSHDeleteKeys  bool     `json:"ssh_deletekeys"`
	SSHKeys        hostKeys `json:"ssh_keys"`
	// With ssh_keys set cloud-init generates no keys; the list only matters
	// if that changes. It cannot be empty: cloud-init's schema wants one
	// item, and ed25519 already exists from ssh_keys, so nothing is made.
	SSHGenKeyTypes []string `json:"ssh_genkeytypes"`
	// "false" (a string) skips the locale module, needed on images without
	// the locales package. cloud-init 22.4 (Debian 12) types locale as a
	// string; later versions also take a boolean.
	Locale string `json:"locale"`
}

type user struct {
	Name              string   `json:"name"`
	Sudo              string   `json:"sudo"`
	Shell             string   `json:"shell"`
	LockPasswd        bool     `json:"lock_passwd"`
	SSHAuthorizedKeys []string `json:"ssh_authorized_keys"`
}

type hostKeys struct {
	ED25519Private string `json:"ed25519_private"`
	ED25519Public  string `json:"ed25519_public"`
}

func userData(c *spec.Cluster, n plan.Node, s *secrets.Secrets) ([]byte, error) {
	if s == nil || s.SSHAuthorizedKey == "" {
		return nil, nodeErr(n, "no SSH authorized key in the cluster state")
	}
	hk, ok := s.HostKeys[n.Name]
	if !ok || len(hk.Private) == 0 || hk.Public == "" {
		return nil, nodeErr(n, "no SSH host key in the cluster state")
	}
	if c.SSH == nil || c.SSH.User == "" {
		return nil, nodeErr(n, "no SSH user in the spec")
	}
	cfg := cloudConfig{
		Hostname:       n.Name,
		FQDN:           strings.Join([]string{n.Name, c.Name, DomainSuffix}, "."),
		ManageEtcHosts: true,
		Users: []user{{
			Name:              c.SSH.User,
			Sudo:              "ALL=(ALL) NOPASSWD:ALL",
			Shell:             "/bin/bash",
			LockPasswd:        true,
			SSHAuthorizedKeys: []string{s.SSHAuthorizedKey},
		}},
		DisableRoot:    true,
		SSHDeleteKeys:  true,
		SSHKeys:        hostKeys{ED25519Private: string(hk.Private), ED25519Public: hk.Public},
		SSHGenKeyTypes: []string{"ed25519"},
		Locale:         "false",
	}
	return marshalWithHeader("#cloud-config", cfg)
}
