package plan

import (
	"encoding/xml"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

func TestNativeNVMeSince(t *testing.T) {
	for _, tc := range []struct {
		version uint32
		bus     string
		want    BootDisk
	}{
		{LibvirtVersion(9, 0, 0), "nvme", BootNVMeCommandline},
		{LibvirtVersion(11, 4, 0), "nvme", BootNVMeCommandline},
		{LibvirtVersion(11, 5, 0), "nvme", BootNVMe},
		{LibvirtVersion(12, 0, 0), "nvme", BootNVMe},
		{LibvirtVersion(12, 0, 0), "virtio", BootVirtio},
		{LibvirtVersion(9, 0, 0), "virtio", BootVirtio},
	} {
		got, err := BootDiskOf(Host{LibvirtVersion: tc.version}, Node{DiskBus: tc.bus})
		if err != nil || got != tc.want {
			t.Errorf("libvirt %d, disk_bus %s: got %q, %v; want %q", tc.version, tc.bus, got, err, tc.want)
		}
	}
	if _, err := BootDiskOf(hostModern, Node{Name: "w-1", DiskBus: "sata"}); err == nil {
		t.Error("disk_bus sata accepted")
	}
}

func TestDomainRejectsUnknownType(t *testing.T) {
	c, nodes := labCluster(t, "nat")
	_, err := Domain(c, nodes[0], Host{LibvirtVersion: LibvirtVersion(9, 0, 0), DomainType: "xen"}, "")
	if err == nil || !strings.Contains(err.Error(), `"xen"`) {
		t.Fatalf("got %v, want an error naming the domain type", err)
	}
}

// Odd but legal values (a pool path with spaces, XML metacharacters and a
// comma, a spec hash full of metacharacters) survive rendering: libvirt
// reads back exactly what was planned and QEMU sees the comma escaped.
func TestHostileValuesRoundTrip(t *testing.T) {
	const dir = `/srv/kprov pools/a&b <c>,"d'`
	const hash = `sha256:<&"'>`
	c, nodes := labCluster(t, "nat")
	c.Hypervisor.StoragePool = dir
	n := nodes[0]
	for _, h := range []Host{hostModern, hostDebian12} {
		d, err := Domain(c, n, h, hash)
		if err != nil {
			t.Fatal(err)
		}
		var back libvirtxml.Domain
		if err := back.Unmarshal(string(render(t, d))); err != nil {
			t.Fatal(err)
		}
		meta, ok, err := ParseNodeMeta(&back)
		if err != nil || !ok {
			t.Fatalf("metadata lost: %v", err)
		}
		if want := (NodeMeta{"lab", "cp-1", "cp", "control-plane", hash}); meta != want {
			t.Errorf("metadata: got %+v, want %+v", meta, want)
		}
		var files []string
		for _, disk := range back.Devices.Disks {
			files = append(files, disk.Source.File.File)
		}
		if back.QEMUCommandline != nil {
			files = append(files, back.QEMUCommandline.Args[1].Value)
		}
		want := []string{dir + "/kprov-lab-cp-1.qcow2", dir + "/kprov-lab-cp-1-seed.iso"}
		if h == hostDebian12 {
			want = []string{dir + "/kprov-lab-cp-1-seed.iso",
				`file=/srv/kprov pools/a&b <c>,,"d'/kprov-lab-cp-1.qcow2,if=none,id=kprov-boot,format=qcow2,discard=unmap`}
		}
		if strings.Join(files, "\n") != strings.Join(want, "\n") {
			t.Errorf("libvirt %d: got files\n%s\nwant\n%s", h.LibvirtVersion, strings.Join(files, "\n"), strings.Join(want, "\n"))
		}
	}
	var pool libvirtxml.StoragePool
	if err := xml.Unmarshal(render(t, Pool(c)), &pool); err != nil || pool.Target.Path != dir {
		t.Errorf("pool path: got %q, %v", pool.Target.Path, err)
	}
	var vol libvirtxml.StorageVolume
	if err := xml.Unmarshal(render(t, OverlayVolume(c, n)), &vol); err != nil || vol.BackingStore.Path != dir+"/kprov-lab-base.qcow2" {
		t.Errorf("backing store: got %q, %v", vol.BackingStore.Path, err)
	}
}

func TestParseNodeMetaAmongOthers(t *testing.T) {
	d := &libvirtxml.Domain{Metadata: &libvirtxml.DomainMetadata{XML: `<other:x xmlns:other="urn:x"/>` +
		`<k:node xmlns:k="` + MetadataNS + `" cluster="c" node="n-1" pool="n" role="worker" spec-hash="h"/>`}}
	m, ok, err := ParseNodeMeta(d)
	if err != nil || !ok || m != (NodeMeta{"c", "n-1", "n", "worker", "h"}) {
		t.Fatalf("got %+v %v %v", m, ok, err)
	}
	d.Metadata.XML = `<other:x xmlns:other="urn:x"/>`
	if _, ok, err := ParseNodeMeta(d); ok || err != nil {
		t.Fatalf("found kprov metadata in a foreign domain: %v %v", ok, err)
	}
}

func TestLongNodeNameNVMeSerial(t *testing.T) {
	n := Node{Name: "a-very-long-pool-name-12", DiskBus: "nvme"}
	if got := nvmeSerial(n); got != "a-very-long-pool-nam" {
		t.Fatalf("got %q", got)
	}
}
