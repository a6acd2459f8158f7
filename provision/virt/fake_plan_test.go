package virt

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"

	"github.com/kprov/kprov/provision/plan"
)

// changes prints cs one per line: "action kind name [details]".
func changes(cs []Change) string {
	var out []string
	for _, c := range cs {
		line := c.Action + " " + c.Kind + " " + c.Name
		if len(c.Details) > 0 {
			line += " [" + strings.Join(c.Details, "; ") + "]"
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// Compare, which `kprov plan` prints, on the hosts up meets; it never
// changes one.
func TestFakeCompare(t *testing.T) {
	c := fakeSpec(t, "cmp", 1)
	add := "add network kprov-cmp\nadd pool kprov-cmp\nadd volume kprov-cmp-base.qcow2\n" +
		"add volume kprov-cmp-cp-1.qcow2\nadd volume kprov-cmp-cp-1-seed.iso\nadd domain kprov-cmp-cp-1\n" +
		"add volume kprov-cmp-worker-1.qcow2\nadd volume kprov-cmp-worker-1-seed.iso\nadd domain kprov-cmp-worker-1"
	same := strings.ReplaceAll(add, "add ", "unchanged ")
	for _, tc := range []struct {
		name  string
		host  func(t *testing.T) *fake
		want  string
		count map[string]int
	}{
		{"empty", func(*testing.T) *fake { return newFake() }, add,
			map[string]int{Add: 9, Modify: 0, Remove: 0, Unchanged: 0}},
		{"converged", func(t *testing.T) *fake { f, _ := converged(t, c); return f }, same,
			map[string]int{Add: 0, Modify: 0, Remove: 0, Unchanged: 9}},
		{"extra domain", func(t *testing.T) *fake {
			// worker-2 was planned once; the spec now has one worker.
			f, _ := converged(t, fakeSpec(t, "cmp", 2))
			return f
		}, same + "\nremove domain kprov-cmp-worker-2 [not in the spec any more: up drains it, deletes it from the cluster, " +
			"then removes its VM, disk, seed and DHCP host (`up --keep-nodes` keeps it)]",
			map[string]int{Add: 0, Modify: 0, Remove: 1, Unchanged: 9}},
		{"stopped pool", func(t *testing.T) *fake {
			f, _ := converged(t, c)
			if err := f.StoragePoolDestroy(libvirt.StoragePool{Name: "kprov-cmp"}); err != nil {
				t.Fatal(err)
			}
			return f
		}, "unchanged network kprov-cmp\nchange pool kprov-cmp [start it (defined but not active)]\nadd volume kprov-cmp-base.qcow2\n" +
			"add volume kprov-cmp-cp-1.qcow2\nadd volume kprov-cmp-cp-1-seed.iso\nunchanged domain kprov-cmp-cp-1\n" +
			"add volume kprov-cmp-worker-1.qcow2\nadd volume kprov-cmp-worker-1-seed.iso\nunchanged domain kprov-cmp-worker-1",
			map[string]int{Add: 5, Modify: 1, Remove: 0, Unchanged: 3}},
		{"stopped domain, changed seed", func(t *testing.T) *fake {
			f, _ := converged(t, c)
			if err := f.DomainDestroy(libvirt.Domain{Name: "kprov-cmp-cp-1"}); err != nil {
				t.Fatal(err)
			}
			f.pools["kprov-cmp"].vols["kprov-cmp-worker-1-seed.iso"] = []byte("another seed")
			return f
		}, strings.NewReplacer(
			"unchanged domain kprov-cmp-cp-1", "change domain kprov-cmp-cp-1 [start it (now shut off)]",
			"unchanged volume kprov-cmp-worker-1-seed.iso", "change volume kprov-cmp-worker-1-seed.iso [its files differ from the spec's "+
				"(cloud-init reads them only on first boot): up reports it, `up --replace` recreates the node]").Replace(same),
			map[string]int{Add: 0, Modify: 2, Remove: 0, Unchanged: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.host(t)
			host, before := f.dump(), f.mutations()
			p := fakeProvisioner(t, f, c)
			cs, err := p.Compare(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := changes(cs); got != tc.want {
				t.Errorf("plan:\n%s\nwant\n%s", got, tc.want)
			}
			if got := Summary(cs); fmt.Sprint(got) != fmt.Sprint(tc.count) {
				t.Errorf("summary %v, want %v", got, tc.count)
			}
			if f.mutations() != before || f.dump() != host {
				t.Errorf("compare changed the host: %v", f.changes[before:])
			}
		})
	}
}

// A domain drifted from the spec shows what differs.
func TestFakeCompareDrift(t *testing.T) {
	f, _ := converged(t, fakeSpec(t, "cmpd", 1))
	c := fakeSpec(t, "cmpd", 1)
	c.NodePools[1].MemoryMiB = 2048
	p := fakeProvisioner(t, f, c)
	p.Hashes["worker-1"] = "changed"
	cs, err := p.Compare(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := "change domain kprov-cmpd-worker-1 [memory 1024 MiB -> 2048 MiB; up reports it as drifted; `up --replace` recreates the node]"
	if got := changes(cs); !strings.Contains(got, want) || Summary(cs)[Modify] != 1 {
		t.Errorf("plan:\n%s\nwant a line\n%s", got, want)
	}
}

// down removes the cluster's tagged objects only, and twice is safe.
func TestFakeDown(t *testing.T) {
	f, _ := converged(t, fakeSpec(t, "gone", 1))
	p := fakeProvisioner(t, f, fakeSpec(t, "kept", 1))
	if err := ensureAll(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	// Named like the cluster's but not tagged, and a file of someone else
	// in its pool.
	if _, err := f.DomainDefineXMLFlags("<domain type='qemu'><name>kprov-gone-stranger</name></domain>", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.StorageVolCreateXML(libvirt.StoragePool{Name: "kprov-gone"}, "<volume><name>notes.txt</name></volume>", 0); err != nil {
		t.Fatal(err)
	}
	kept := func() string {
		var out []string
		for _, l := range strings.Split(f.dump(), "\n") {
			if strings.Contains(l, "kprov-kept") || strings.Contains(l, "stranger") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	others, start := kept(), f.mutations()

	td := &Teardown{Conn: &Conn{l: f}, Cluster: "gone", Log: t.Logf}
	if err := td.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(f.dump(), "\n") {
		if strings.Contains(l, "kprov-gone") && !strings.Contains(l, "stranger") {
			t.Errorf("down left %s", l)
		}
	}
	if got := kept(); got != others {
		t.Errorf("down touched objects not its own:\n%s\nwas\n%s", got, others)
	}
	for _, c := range f.changes[start:] {
		if strings.Contains(c, "notes.txt") || strings.Contains(c, "stranger") {
			t.Errorf("down called %s", c)
		}
	}
	before := f.mutations()
	again := &Teardown{Conn: &Conn{l: f}, Cluster: "gone", Log: t.Logf}
	if err := again.Run(context.Background()); err != nil || again.Mutations() != 0 || f.mutations() != before {
		t.Errorf("second down: %v, %d changes; want none", err, again.Mutations())
	}
}

// down --keep-image keeps the pool and the base image, and up then
// imports nothing.
func TestFakeDownKeepImage(t *testing.T) {
	c := fakeSpec(t, "keep", 1)
	f, _ := converged(t, c)
	td := &Teardown{Conn: &Conn{l: f}, Cluster: "keep", KeepImage: true, Log: t.Logf}
	if err := td.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := "pool kprov-keep /var/lib/kprov-fake/keep built=true active=true autostart=true\nvolume kprov-keep/kprov-keep-base.qcow2 "
	if got := f.dump(); !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 1 {
		t.Errorf("after down --keep-image:\n%s\nwant only\n%s", got, want)
	}
	before := f.mutations()
	p := fakeProvisioner(t, f, c)
	if err := ensureAll(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	for _, ch := range f.changes[before:] {
		if strings.Contains(ch, plan.BaseVolumeName(c)) {
			t.Errorf("up after down --keep-image imported again: %s", ch)
		}
	}
}

// status shows each planned node's state and drift, and tagged leftovers.
func TestFakeStatus(t *testing.T) {
	f, _ := converged(t, fakeSpec(t, "st", 2))
	if err := f.DomainDestroy(libvirt.Domain{Name: "kprov-st-cp-1"}); err != nil {
		t.Fatal(err)
	}
	p := fakeProvisioner(t, f, fakeSpec(t, "st", 1))
	p.Hashes["worker-1"] = "changed"
	got, err := Status(p.Conn, "st", p.Nodes, p.Hashes, nil)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, s := range got {
		lines = append(lines, fmt.Sprintf("%s %s %s drifted=%t", s.Name, s.Domain, s.State, s.Drifted))
	}
	want := "cp-1 kprov-st-cp-1 shut off drifted=false\n" +
		"worker-1 kprov-st-worker-1 running drifted=true\n" +
		"worker-2 kprov-st-worker-2 running (not in spec) drifted=false"
	if g := strings.Join(lines, "\n"); g != want {
		t.Errorf("status:\n%s\nwant\n%s", g, want)
	}
}
