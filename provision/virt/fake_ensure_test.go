package virt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digitalocean/go-libvirt"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

// Unit tests of the ensure, drift, compare and down logic against the
// in-memory libvirt (fake_test.go); lab_test.go's tests run the same
// logic against a real libvirtd.

// fakeSpec is a cluster of one control plane and workers worker nodes.
func fakeSpec(t *testing.T, name string, workers int) *spec.Cluster {
	t.Helper()
	dir := t.TempDir()
	img := filepath.Join(dir, "base.qcow2")
	if err := os.WriteFile(img, []byte("QFI\xfb fake image of "+name), 0o644); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`
cluster %q {
  hypervisor {
    storage_pool = "/var/lib/kprov-fake/%s"
    accelerator  = "tcg"
  }
  image { source = %q }
  network {
    mode      = "isolated"
    node_cidr = "10.88.0.0/24"
  }
  node_pool "cp" {
    role      = "control-plane"
    memory    = "2GiB"
    disk_size = "4GiB"
  }
  node_pool "worker" {
    role      = "worker"
    count     = %d
    memory    = "1GiB"
    disk_size = "4GiB"
  }
}`, name, name, img, workers)
	path := filepath.Join(dir, "spec.hcl")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	s, diags := spec.NewLoader().LoadFile(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return s.Cluster
}

// fakeProvisioner plans c against f, with a hash and a seed per node.
func fakeProvisioner(t *testing.T, f *fake, c *spec.Cluster) *Provisioner {
	t.Helper()
	conn := &Conn{l: f}
	host, _, err := conn.Host(c.Hypervisor.Accelerator)
	if err != nil {
		t.Fatal(err)
	}
	nodes, err := plan.Nodes(c)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provisioner{Conn: conn, Cluster: c, Nodes: nodes, Host: host, Image: FileImage(c.Image.Source),
		Hashes: map[string]string{}, Seeds: map[string][]byte{}, Parallel: 4, Log: t.Logf}
	for _, n := range nodes {
		p.Hashes[n.Name] = "hash-of-" + n.Name
		p.Seeds[n.Name] = []byte("seed of " + n.Name)
	}
	return p
}

// ensureAll runs every provisioning step but the SSH wait, as up does.
func ensureAll(ctx context.Context, p *Provisioner) error {
	steps := []func(context.Context) error{p.EnsureNetwork, p.EnsurePool, p.EnsureImage,
		func(ctx context.Context) error { _, err := p.CheckDrift(ctx); return err },
		p.EnsureDisks, p.EnsureSeeds, p.EnsureDomains, p.Start}
	for _, s := range steps {
		if err := s(ctx); err != nil {
			return err
		}
	}
	return nil
}

// converged provisions c on a fresh fake and returns both.
func converged(t *testing.T, c *spec.Cluster) (*fake, *Provisioner) {
	t.Helper()
	f := newFake()
	p := fakeProvisioner(t, f, c)
	if err := ensureAll(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return f, p
}

// The first run creates every planned object; a second makes no change.
func TestFakeUpTwice(t *testing.T) {
	c := fakeSpec(t, "twice", 2)
	f, p := converged(t, c)
	host := f.dump()
	for _, want := range []string{
		"network kprov-twice active=true autostart=true",
		"pool kprov-twice /var/lib/kprov-fake/twice built=true active=true autostart=true",
		"volume kprov-twice/kprov-twice-base.qcow2 ",
		"volume kprov-twice/kprov-twice-cp-1.qcow2 ",
		"volume kprov-twice/kprov-twice-worker-2-seed.iso 16 bytes",
		"domain kprov-twice-cp-1 running",
		"domain kprov-twice-worker-2 running",
	} {
		if !strings.Contains(host, want) {
			t.Errorf("after the first run, no %q in\n%s", want, host)
		}
	}
	if n := strings.Count(host, "\n") + 1; n != 1+1+1+3*2+3 {
		t.Errorf("%d objects, want 12:\n%s", n, host)
	}
	if p.Mutations() == 0 || int(p.Mutations()) != f.mutations() {
		t.Errorf("the provisioner counted %d changes, libvirt saw %d", p.Mutations(), f.mutations())
	}

	again := fakeProvisioner(t, f, c)
	before := f.mutations()
	if err := ensureAll(context.Background(), again); err != nil {
		t.Fatal(err)
	}
	if again.Mutations() != 0 || f.mutations() != before {
		t.Errorf("second run: %d changes counted, %v made; want none", again.Mutations(), f.changes[before:])
	}
	if f.dump() != host {
		t.Errorf("second run changed the host:\n%s\nwas\n%s", f.dump(), host)
	}
}

// Validated domain defines go to libvirtd one at a time: two at once can
// fail there ("Unable to parse RNG ... 'unsignedInt' is not exported",
// seen on the lab's libvirt 9.0).
func TestFakeDefinesOneAtATime(t *testing.T) {
	f, _ := converged(t, fakeSpec(t, "serial", 4))
	if n := f.overlaps.Load(); n != 0 {
		t.Errorf("%d validated defines overlapped another", n)
	}
}

// A grown node pool costs exactly the new node's objects and its DHCP entry.
func TestFakeUpGrows(t *testing.T) {
	f, _ := converged(t, fakeSpec(t, "grow", 1))
	before := f.mutations()
	p := fakeProvisioner(t, f, fakeSpec(t, "grow", 2))
	if err := ensureAll(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(f.changes[before:], "\n")
	want := strings.Join([]string{
		"NetworkUpdateCompat kprov-grow",
		"StorageVolCreateXML kprov-grow-worker-2.qcow2",
		"StorageVolCreateXML kprov-grow-worker-2-seed.iso",
		"StorageVolUpload kprov-grow-worker-2-seed.iso",
		"DomainDefineXMLFlags kprov-grow-worker-2",
		"DomainCreate kprov-grow-worker-2",
	}, "\n")
	if got != want {
		t.Errorf("changes:\n%s\nwant\n%s", got, want)
	}
	x, _ := f.NetworkGetXMLDesc(libvirt.Network{Name: p.name()}, 0)
	if !strings.Contains(x, p.Nodes[2].MAC) {
		t.Errorf("network lacks the new node's DHCP host %s:\n%s", p.Nodes[2].MAC, x)
	}
}

// CheckDrift reports a domain defined from another spec; with Replace it
// removes that node alone, and the next steps recreate it.
func TestFakeDrift(t *testing.T) {
	c := fakeSpec(t, "drift", 1)
	f, _ := converged(t, c)
	host := f.dump()
	ctx := context.Background()
	p := fakeProvisioner(t, f, c)
	p.Hashes["worker-1"] = "new-hash"
	drifts, err := p.CheckDrift(ctx)
	want := []Drift{{Node: "worker-1", Have: "hash-of-worker-1", Want: "new-hash"}}
	if err != nil || fmt.Sprint(drifts) != fmt.Sprint(want) {
		t.Fatalf("drift without replace: %v, %v; want %v", drifts, err, want)
	}
	if p.Mutations() != 0 || f.dump() != host {
		t.Fatalf("drift without replace changed the host (%d changes)", p.Mutations())
	}

	p.Replace = true
	if drifts, err = p.CheckDrift(ctx); err != nil || len(drifts) != 1 {
		t.Fatalf("drift with replace: %v, %v", drifts, err)
	}
	gone := f.dump()
	for _, obj := range []string{"domain kprov-drift-worker-1 ", "/kprov-drift-worker-1.qcow2 ", "/kprov-drift-worker-1-seed.iso "} {
		if strings.Contains(gone, obj) {
			t.Errorf("replace left %q", obj)
		}
	}
	if !strings.Contains(gone, "domain kprov-drift-cp-1 running") || !strings.Contains(gone, "/kprov-drift-cp-1.qcow2 ") {
		t.Errorf("replace touched the control plane:\n%s", gone)
	}
	if err := ensureAll(ctx, p); err != nil {
		t.Fatal(err)
	}
	dom, _ := f.DomainLookupByName("kprov-drift-worker-1")
	if m, ok, err := domainMeta(f, dom); err != nil || !ok || m.SpecHash != "new-hash" {
		t.Errorf("recreated domain's metadata: %+v %v %v", m, ok, err)
	}
	again := fakeProvisioner(t, f, c)
	again.Hashes["worker-1"] = "new-hash"
	if err := ensureAll(ctx, again); err != nil || again.Mutations() != 0 {
		t.Errorf("after the replacement: %v, %d changes; want none", err, again.Mutations())
	}
}

// A domain of a planned name that kprov did not tag is never replaced.
func TestFakeDriftForeignDomain(t *testing.T) {
	c := fakeSpec(t, "foreign", 1)
	f := newFake()
	if _, err := f.DomainDefineXMLFlags("<domain type='qemu'><name>kprov-foreign-cp-1</name></domain>", 0); err != nil {
		t.Fatal(err)
	}
	p := fakeProvisioner(t, f, c)
	p.Replace = true
	_, err := p.CheckDrift(context.Background())
	if err == nil || !strings.Contains(err.Error(), `domain kprov-foreign-cp-1 exists but kprov did not create it for cluster "foreign"`) {
		t.Fatalf("got %v", err)
	}
	if _, err := f.DomainLookupByName("kprov-foreign-cp-1"); err != nil {
		t.Errorf("the foreign domain is gone: %v", err)
	}
}

// A failure in the middle of up leaves a host from which the next run
// converges to what one clean run makes, and a third run changes nothing.
func TestFakePartialFailure(t *testing.T) {
	c := fakeSpec(t, "part", 2)
	clean, _ := converged(t, c)
	for _, tc := range []struct{ method, object, message string }{
		{"NetworkCreate", "kprov-part", "start network kprov-part"},
		{"StoragePoolBuild", "kprov-part", "build pool kprov-part at /var/lib/kprov-fake/part"},
		{"StorageVolUpload", "kprov-part-base.qcow2", "import base image"},
		{"StorageVolCreateXML", "kprov-part-worker-1.qcow2", "node worker-1: create disk kprov-part-worker-1.qcow2"},
		{"StorageVolUpload", "kprov-part-worker-2-seed.iso", "node worker-2: upload seed kprov-part-worker-2-seed.iso"},
		{"DomainDefineXMLFlags", "kprov-part-worker-2", "node worker-2: define domain kprov-part-worker-2"},
		{"DomainCreate", "kprov-part-cp-1", "node cp-1: start domain kprov-part-cp-1"},
	} {
		t.Run(tc.method+"/"+tc.object, func(t *testing.T) {
			f := newFake()
			f.fail(tc.method, tc.object, 0)
			err := ensureAll(context.Background(), fakeProvisioner(t, f, c))
			if err == nil || !strings.Contains(err.Error(), tc.message) || !strings.Contains(err.Error(), "injected failure") {
				t.Fatalf("got %v, want %q", err, tc.message)
			}
			var ne *NodeError
			if strings.HasPrefix(tc.message, "node ") && !errors.As(err, &ne) {
				t.Errorf("%v is not a NodeError", err)
			}
			f.heal()
			if err := ensureAll(context.Background(), fakeProvisioner(t, f, c)); err != nil {
				t.Fatalf("second run: %v", err)
			}
			if f.dump() != clean.dump() {
				t.Errorf("second run left\n%s\nwant\n%s", f.dump(), clean.dump())
			}
			third := fakeProvisioner(t, f, c)
			if err := ensureAll(context.Background(), third); err != nil || third.Mutations() != 0 {
				t.Errorf("third run: %v, %d changes; want none", err, third.Mutations())
			}
		})
	}
}

// Given Defs (render's objects), up defines exactly those, not a plan of
// its own: a domain changed in Defs is what the host holds.
func TestFakeDefinesGivenDefs(t *testing.T) {
	c := fakeSpec(t, "given", 1)
	f := newFake()
	p := fakeProvisioner(t, f, c)
	defs, err := plan.Define(p.Cluster, p.Nodes, p.Host, p.Hashes)
	if err != nil {
		t.Fatal(err)
	}
	defs.Domains["cp-1"].Description = "from the plan render wrote"
	p.Defs = defs
	if err := ensureAll(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	want, err := defs.Domains["cp-1"].Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	have := f.doms["kprov-given-cp-1"].xml
	f.mu.Unlock()
	if have != want {
		t.Errorf("defined:\n%s\nwant the given definition:\n%s", have, want)
	}
}

// Drift is judged against the hash in the given Defs, the definitions up
// would define, not a second map that could disagree with them.
func TestFakeDriftFollowsDefs(t *testing.T) {
	c := fakeSpec(t, "dfd", 1)
	f, _ := converged(t, c)
	p := fakeProvisioner(t, f, c)
	defs, err := plan.Define(p.Cluster, p.Nodes, p.Host, map[string]string{"cp-1": "hash-of-cp-1", "worker-1": "from-defs"})
	if err != nil {
		t.Fatal(err)
	}
	p.Defs = defs
	drifts, err := p.CheckDrift(context.Background())
	want := []Drift{{Node: "worker-1", Have: "hash-of-worker-1", Want: "from-defs"}}
	if err != nil || fmt.Sprint(drifts) != fmt.Sprint(want) {
		t.Errorf("drift: %v, %v; want %v", drifts, err, want)
	}
}
