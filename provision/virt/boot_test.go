package virt_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/labtest"
)

// Two VMs from the lab image boot under software emulation; cloud-init
// applies kprov's seed (host name, NIC renamed eth0 with the planned MTU
// and address, authorized key, pinned host key); the boot disk is NVMe.
func TestBootToSSH(t *testing.T) {
	cl := labtest.Boot(t, "boot", "")
	t.Logf("all nodes answered SSH %s after start", cl.Booted.Round(time.Second))
	p, secrets, c, conn, ctx := cl.Provisioner, cl.Secrets, cl.Spec, cl.Provisioner.Conn, context.Background()
	for _, n := range p.Nodes {
		if got := labtest.Guest(t, secrets, n, "hostname"); got != n.Name {
			t.Errorf("%s: hostname %q", n.Name, got)
		}
		if got := labtest.Guest(t, secrets, n, "cat /sys/class/net/eth0/mtu"); got != "1400" {
			t.Errorf("%s: eth0 MTU %q, want 1400", n.Name, got)
		}
		if got := labtest.Guest(t, secrets, n, "ip -4 -o addr show dev eth0"); !strings.Contains(got, n.IP.String()+"/24") {
			t.Errorf("%s: eth0 addresses %q, want %s/24", n.Name, got, n.IP)
		}
		if got := labtest.Guest(t, secrets, n, "cat /sys/class/net/eth0/address"); got != n.MAC {
			t.Errorf("%s: eth0 MAC %q, want %s", n.Name, got, n.MAC)
		}
		if got := labtest.Guest(t, secrets, n, "findmnt -no SOURCE /"); !strings.HasPrefix(got, "/dev/nvme0n1") {
			t.Errorf("%s: root on %q, want an NVMe device", n.Name, got)
		}
	}
	again, _ := labtest.Provisioner(t, conn, c)
	again.Seeds = p.Seeds
	if err := labtest.EnsureAll(ctx, again); err != nil {
		t.Fatal(err)
	}
	if again.Mutations() != 0 {
		t.Errorf("up on the running cluster made %d changes, want 0", again.Mutations())
	}
}
