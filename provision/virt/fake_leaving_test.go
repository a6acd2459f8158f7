package virt

import (
	"context"
	"strings"
	"testing"
)

// A lower count: the extra node is listed as leaving with its address,
// and removing it takes its domain, disk, seed and DHCP host, once.
func TestFakeRemoveLeaving(t *testing.T) {
	f, _ := converged(t, fakeSpec(t, "lv", 2))
	ctx := context.Background()
	p := fakeProvisioner(t, f, fakeSpec(t, "lv", 1))
	leaving, err := p.Leaving(ctx)
	if err != nil || len(leaving) != 1 {
		t.Fatalf("leaving: %+v, %v", leaving, err)
	}
	lv := leaving[0]
	if lv.Node != "worker-2" || lv.Role != "worker" || lv.Domain != "kprov-lv-worker-2" || !lv.IP.IsValid() || lv.MAC == "" {
		t.Errorf("leaving: %+v", lv)
	}
	netXML := func() string {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.nets["kprov-lv"].xml
	}
	if !strings.Contains(netXML(), lv.IP.String()) {
		t.Fatalf("the network does not hold %s before:\n%s", lv.IP, netXML())
	}
	if err := p.RemoveLeaving(ctx, lv); err != nil {
		t.Fatal(err)
	}
	after := f.dump()
	if strings.Contains(netXML(), `ip="`+lv.IP.String()+`"`) || !strings.Contains(netXML(), "worker-1") {
		t.Errorf("the DHCP host of worker-2 is still there, or worker-1's went:\n%s", netXML())
	}
	for _, gone := range []string{"domain kprov-lv-worker-2 ", "/kprov-lv-worker-2.qcow2 ", "/kprov-lv-worker-2-seed.iso "} {
		if strings.Contains(after, gone) {
			t.Errorf("removal left %q:\n%s", gone, after)
		}
	}
	if !strings.Contains(after, "domain kprov-lv-worker-1 running") {
		t.Errorf("removal touched worker-1:\n%s", after)
	}
	if again, err := p.Leaving(ctx); err != nil || len(again) != 0 {
		t.Errorf("after removal: %+v, %v", again, err)
	}
	before := p.Mutations()
	if err := p.RemoveLeaving(ctx, lv); err != nil || p.Mutations() != before {
		t.Errorf("second removal: %v, %d changes", err, p.Mutations()-before)
	}
}
