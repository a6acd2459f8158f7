package virt

import (
	"strings"

	"github.com/digitalocean/go-libvirt"

	"github.com/kprov/kprov/provision/plan"
)

// NodeStatus is one node as libvirt sees it.
type NodeStatus struct {
	Name    string `json:"name"`
	Domain  string `json:"domain"`
	Role    string `json:"role"`
	State   string `json:"state"` // running, shut off, ..., or missing
	Address string `json:"address"`
	MAC     string `json:"mac"`
	// Drifted is true when the domain was defined from another spec.
	Drifted bool `json:"drifted,omitempty"`
}

// Status lists the planned nodes with their live state, plus any domain
// tagged for the cluster that the spec no longer plans.
func Status(c *Conn, cluster string, nodes []plan.Node, hashes, legacy map[string]string) ([]NodeStatus, error) {
	l := c.l
	doms, _, err := l.ConnectListAllDomains(1, 0)
	if err != nil {
		return nil, wrap("list domains", err)
	}
	live := map[string]libvirt.Domain{}
	for _, d := range doms {
		if strings.HasPrefix(d.Name, plan.Prefix(cluster)) {
			live[d.Name] = d
		}
	}
	var out []NodeStatus
	for _, n := range nodes {
		s := NodeStatus{Name: n.Name, Domain: n.Domain, Role: n.Role, State: "missing", Address: n.IP.String(), MAC: n.MAC}
		if d, ok := live[n.Domain]; ok {
			delete(live, n.Domain)
			st, _, err := l.DomainGetState(d, 0)
			if err != nil {
				return nil, wrap("domain "+n.Domain, err)
			}
			s.State = stateName(libvirt.DomainState(st))
			if m, ok, err := domainMeta(l, d); err == nil && ok {
				s.Drifted = m.SpecHash != hashes[n.Name] && m.SpecHash != legacy[n.Name]
			}
		}
		out = append(out, s)
	}
	for name, d := range live {
		m, ok, err := domainMeta(l, d)
		if err != nil || !ok || m.Cluster != cluster {
			continue
		}
		st, _, _ := l.DomainGetState(d, 0)
		out = append(out, NodeStatus{Name: m.Node, Domain: name, Role: m.Role, State: stateName(libvirt.DomainState(st)) + " (not in spec)"})
	}
	return out, nil
}

func stateName(s libvirt.DomainState) string {
	switch s {
	case libvirt.DomainRunning:
		return "running"
	case libvirt.DomainBlocked:
		return "blocked"
	case libvirt.DomainPaused:
		return "paused"
	case libvirt.DomainShutdown:
		return "shutting down"
	case libvirt.DomainShutoff:
		return "shut off"
	case libvirt.DomainCrashed:
		return "crashed"
	case libvirt.DomainPmsuspended:
		return "suspended"
	}
	return "unknown"
}
