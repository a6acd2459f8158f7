package etcd

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestCheckRemoval(t *testing.T) {
	st := func(spec string) []Status {
		var out []Status
		for i, f := range strings.Fields(spec) {
			name, state, _ := strings.Cut(f, ":")
			out = append(out, Status{ID: uint64(i + 1), Name: name, Healthy: state == "up", Error: map[bool]string{false: "context deadline exceeded"}[state == "up"]})
		}
		return out
	}
	cases := []struct {
		members, leaving string
		ok               bool
		refusal          string // "" when allowed
	}{
		{"cp-1:up cp-2:up cp-3:up", "cp-3", true, ""},
		{"cp-1:up cp-2:up cp-3:down", "cp-3", true, ""}, // a dead member can go
		{"cp-1:up cp-2:up", "cp-2", true, ""},
		{"cp-1:up cp-2:down", "cp-2", true, "only 1 of 2 members are healthy, below quorum (2)"},
		{"cp-1:up cp-2:down cp-3:up", "cp-3", true, "the 2 members left would have 1 healthy, below their quorum (2)"},
		{"cp-1:up cp-2:down cp-3:down", "cp-3", true, "only 1 of 3 members are healthy"},
		{"cp-1:up", "cp-1", true, "it is etcd's last member"},
		{"cp-1:up cp-2:up", "cp-3", false, ""}, // gone already
		{"cp-1:up cp-2:up cp-3:up cp-4:up cp-5:down", "cp-4", true, ""},
	}
	for _, c := range cases {
		m, ok, err := CheckRemoval(st(c.members), c.leaving)
		var qe *QuorumError
		switch {
		case ok != c.ok || ok && m.Name != c.leaving:
			t.Errorf("%s without %s: member %+v, ok %v", c.members, c.leaving, m, ok)
		case c.refusal == "" && err != nil:
			t.Errorf("%s without %s: refused: %v", c.members, c.leaving, err)
		case c.refusal != "" && (!errors.As(err, &qe) || !strings.Contains(err.Error(), c.refusal)):
			t.Errorf("%s without %s: %v, want a refusal saying %q", c.members, c.leaving, err, c.refusal)
		}
		if c.refusal != "" && err != nil && !strings.Contains(err.Error(), "(unhealthy: context deadline exceeded)") && strings.Contains(c.members, "down") {
			t.Errorf("refusal does not show the unhealthy member's error: %v", err)
		}
	}
}

// testdata/members-v3.5.15.txt is membersScript's output on the lab's
// cp-1 (etcd 3.5.15).
func TestParseMembers(t *testing.T) {
	b, err := os.ReadFile("testdata/members-v3.5.15.txt")
	if err != nil {
		t.Fatal(err)
	}
	st, err := parseMembers(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st[0] != (Status{ID: 14946024044483938369, Name: "cp-1", Healthy: true}) {
		t.Errorf("got %+v", st)
	}
	// A second member whose endpoint does not answer, with etcdctl's
	// warning log lines around its JSON.
	two := strings.Replace(string(b), `"clientURLs":["https://10.77.0.67:2379"]}]`,
		`"clientURLs":["https://10.77.0.67:2379"]},{"ID":7,"name":"cp-2","peerURLs":["https://10.77.0.68:2380"],"clientURLs":["https://10.77.0.68:2379"]}]`, 1)
	two = strings.Replace(two, `"took":"3.407620779s"}]`,
		`"took":"3.407620779s"},{"endpoint":"https://10.77.0.68:2379","health":false,"took":"5.0s","error":"context deadline exceeded"}]`+
			"\n"+`{"level":"warn","msg":"health check failed"}`+"\nError: unhealthy cluster", 1)
	st, err = parseMembers(two)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || !st[0].Healthy || st[1].Name != "cp-2" || st[1].Healthy || st[1].Error != "context deadline exceeded" {
		t.Errorf("got %+v", st)
	}
	// etcd too slow to list its members for the health check (seen on the
	// lab's overloaded cp-1): every member unhealthy, for etcdctl's reason.
	list, _, _ := strings.Cut(string(b), healthMark)
	st, err = parseMembers(list + healthMark + "\n" + `{"level":"warn","msg":"retrying of unary invoker failed"}` +
		"\nError: failed to fetch endpoints from etcd cluster member list: context deadline exceeded\n" +
		`time="2026-12-01T00:43:53Z" level=fatal msg="execing command in container: command terminated with exit code 1"`)
	if err != nil || len(st) != 1 || st[0].Healthy || st[0].Error != "endpoint health: Error: failed to fetch endpoints from etcd cluster member list: context deadline exceeded" {
		t.Errorf("no health JSON: %+v, %v", st, err)
	}
	if _, err := parseMembers("Error: context deadline exceeded"); err == nil {
		t.Error("output without a member list was accepted")
	}
}
