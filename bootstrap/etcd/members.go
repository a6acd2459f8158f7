package etcd

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/kprov/kprov/bootstrap/remote"
)

// Status is one etcd member, as the members answer for it.
type Status struct {
	ID      uint64
	Name    string
	Healthy bool
	Error   string // why it is not healthy
}

// healthMark separates the member list from the health in membersScript's
// output.
const healthMark = "--- kprov: endpoint health ---"

// membersScript prints the member list, then each member's health (the
// health command fails when one is unhealthy: its JSON still says which).
var membersScript = strings.Join([]string{
	"set -eu",
	findEtcd,
	etcdctl + " member list -w json",
	"echo " + remote.Quote(healthMark),
	etcdctl + " endpoint health --cluster -w json || true",
}, "\n")

// Members lists etcd's members and whether each answers, asked of the
// etcd that runs on n.
func Members(ctx context.Context, n remote.Node) ([]Status, error) {
	out, err := n.Run(ctx, "sh -c "+remote.Quote(membersScript))
	if err != nil {
		return nil, fmt.Errorf("etcd's members, asked on %s: %w", n.Name(), err)
	}
	st, err := parseMembers(out)
	if err != nil {
		return nil, fmt.Errorf("etcd's members, asked on %s: %w", n.Name(), err)
	}
	return st, nil
}

func parseMembers(out string) ([]Status, error) {
	list, health, ok := strings.Cut(out, healthMark)
	if !ok {
		return nil, fmt.Errorf("no endpoint health in the output:\n%s", out)
	}
	var ml struct {
		Members []struct {
			ID         uint64   `json:"ID"`
			Name       string   `json:"name"`
			ClientURLs []string `json:"clientURLs"`
		} `json:"members"`
	}
	if err := json.Unmarshal([]byte(lastJSON(list, "members")), &ml); err != nil || len(ml.Members) == 0 {
		return nil, fmt.Errorf("member list: %v:\n%s", err, list)
	}
	var hs []struct {
		Endpoint string `json:"endpoint"`
		Health   bool   `json:"health"`
		Error    string `json:"error"`
	}
	line := ""
	for _, l := range strings.Split(health, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "[") {
			line = l
		}
	}
	// With no JSON, etcdctl could not even ask: every member counts as
	// unhealthy, for the reason it printed.
	why := "endpoint health: " + lastLine(health)
	if line != "" {
		if err := json.Unmarshal([]byte(line), &hs); err != nil {
			return nil, fmt.Errorf("endpoint health: %v:\n%s", err, health)
		}
		why = "no health reported for its client URLs"
	}
	byURL := map[string]int{}
	for i, h := range hs {
		byURL[h.Endpoint] = i
	}
	var st []Status
	for _, m := range ml.Members {
		s := Status{ID: m.ID, Name: m.Name, Error: why}
		for _, u := range m.ClientURLs {
			if i, ok := byURL[u]; ok {
				s.Healthy, s.Error = hs[i].Health, hs[i].Error
			}
		}
		if s.Healthy {
			s.Error = ""
		}
		st = append(st, s)
	}
	sort.Slice(st, func(i, j int) bool { return st[i].Name < st[j].Name })
	return st, nil
}

// QuorumError refuses to remove a member when etcd would be left without
// a healthy majority.
type QuorumError struct {
	Leaving string
	Members []Status
	Reason  string
}

func (e *QuorumError) Error() string {
	var parts []string
	for _, m := range e.Members {
		h := "healthy"
		if !m.Healthy {
			h = "unhealthy: " + m.Error
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", m.Name, h))
	}
	return fmt.Sprintf("control plane %s cannot leave etcd: %s. Members now: %s. Bring the unhealthy members back first, or keep %s (--keep-nodes)",
		e.Leaving, e.Reason, strings.Join(parts, ", "), e.Leaving)
}

// CheckRemoval says whether the member named leaving can be removed from
// members: etcd must have a healthy majority now, to agree to it, and keep
// one among the others. It returns the member (ok false when none has
// that name: it left already).
func CheckRemoval(members []Status, leaving string) (m Status, ok bool, err error) {
	healthy, rest, restHealthy := 0, 0, 0
	for _, s := range members {
		if s.Healthy {
			healthy++
		}
		if s.Name == leaving {
			m, ok = s, true
			continue
		}
		rest++
		if s.Healthy {
			restHealthy++
		}
	}
	switch {
	case !ok:
		return m, false, nil
	case rest == 0:
		return m, ok, &QuorumError{leaving, members, "it is etcd's last member"}
	case healthy < len(members)/2+1:
		return m, ok, &QuorumError{leaving, members, fmt.Sprintf("only %d of %d members are healthy, below quorum (%d)", healthy, len(members), len(members)/2+1)}
	case restHealthy < rest/2+1:
		return m, ok, &QuorumError{leaving, members, fmt.Sprintf("the %d members left would have %d healthy, below their quorum (%d)", rest, restHealthy, rest/2+1)}
	}
	return m, ok, nil
}

// RemoveMember removes the member id, asking the etcd on n.
func RemoveMember(ctx context.Context, n remote.Node, id uint64) error {
	_, err := n.Run(ctx, "sh -c "+remote.Quote("set -eu\n"+findEtcd+"\n"+etcdctl+fmt.Sprintf(" member remove %x", id)))
	return err
}

// lastLine is the last line of s that is not a log line (JSON) or empty.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "{") && !strings.HasPrefix(l, "time=") {
			return l
		}
	}
	return "no answer"
}
