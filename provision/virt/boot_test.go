package virt_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/lab/labtest"

	"github.com/kprov/kprov/provision/cloudinit"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/seed"
	"github.com/kprov/kprov/provision/virt"
)

// Two VMs from the lab image boot under software emulation; cloud-init
// applies kprov's seed (host name, NIC renamed eth0 with the planned MTU
// and address, authorized key, pinned host key); the boot disk is NVMe.
func TestBootToSSH(t *testing.T) {
	labtest.Need(t)
	image := labtest.Image(t)
	conn := labtest.Dial(t)
	c := labtest.Spec(t, "boot", image, "")
	p, secrets := labtest.Provisioner(t, conn, c)
	for _, n := range p.Nodes {
		files, err := cloudinit.Files(c, n, secrets)
		if err != nil {
			t.Fatal(err)
		}
		if p.Seeds[n.Name], err = seed.ISO(files); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	start := time.Now()
	if err := labtest.EnsureAll(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Logf("defined and started %d nodes in %s", len(p.Nodes), time.Since(start).Round(time.Millisecond))
	w := &virt.Waiter{Secrets: secrets, User: "kprov", Host: p.Host, Timeout: c.BootTimeout(), Log: t.Logf,
		ConsoleTail: func(n plan.Node) string { return virt.FileTail(plan.ConsoleLog(p.Host, n), 30) }}
	if err := w.Wait(ctx, p.Nodes); err != nil {
		t.Fatal(err)
	}
	t.Logf("all nodes answered SSH %s after start", time.Since(start).Round(time.Second))
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
