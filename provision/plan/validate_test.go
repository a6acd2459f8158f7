package plan

import (
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/judge"
	"libvirt.org/go/libvirtxml"
)

// virt-xml-validate, run by internal/judge, is the judge of every
// rendered object.

func TestVirtXMLValidateAccepts(t *testing.T) {
	native := LibvirtVersion(judge.InstalledLibvirt(t)) >= NativeNVMeSince
	for _, a := range artifacts(t) {
		t.Run(a.file, func(t *testing.T) {
			t.Parallel()
			err := judge.VirtXML(t, a.xml)
			if a.file == "domain-nvme-native-kvm.xml" && !native {
				// The judge's schema predates <target bus='nvme'>, which
				// is why older hosts get the qemu:commandline form.
				if err == nil {
					t.Fatal("libvirt older than 11.5 accepted bus='nvme'; NativeNVMeSince is wrong")
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", a.file, err, a.xml)
			}
		})
	}
}

// On a host whose schemas lack the nvme bus, the native NVMe domain must
// be valid but for that bus: the same domain with a virtio disk passes.
func TestVirtXMLValidateNativeNVMeButBus(t *testing.T) {
	c, nodes := labCluster(t, "nat")
	d, err := Domain(c, nodes[0], hostModern, testSpecHash)
	if err != nil {
		t.Fatal(err)
	}
	disk := &d.Devices.Disks[0]
	if disk.Target.Bus != "nvme" {
		t.Fatalf("first disk is on %q, want nvme", disk.Target.Bus)
	}
	disk.Target = &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"}
	disk.Serial = ""
	if err := judge.VirtXML(t, render(t, d)); err != nil {
		t.Fatalf("the native NVMe domain with a virtio bus: %v", err)
	}
}

// The judge can fail: broken variants of a valid domain are rejected.
func TestVirtXMLValidateRejectsBrokenDomain(t *testing.T) {
	c, nodes := labCluster(t, "nat")
	d, err := Domain(c, nodes[0], hostDebian12, testSpecHash)
	if err != nil {
		t.Fatal(err)
	}
	good := string(render(t, d))
	if err := judge.VirtXML(t, []byte(good)); err != nil {
		t.Fatalf("control domain: %v", err)
	}
	for name, broken := range map[string]string{
		"memory not a number": strings.Replace(good, ">2048</memory>", ">lots</memory>", 1),
		"unknown device":      strings.Replace(good, "<devices>", "<devices>\n    <floppy-drive/>", 1),
		"unknown disk bus":    strings.Replace(good, `bus="scsi"`, `bus="sas"`, 1),
		"no name":             strings.Replace(good, "<name>kprov-lab-cp-1</name>", "", 1),
	} {
		if broken == good {
			t.Fatalf("%s: the edit did not apply", name)
		}
		if judge.VirtXML(t, []byte(broken)) == nil {
			t.Errorf("%s: virt-xml-validate accepted it:\n%s", name, broken)
		}
	}
}

// Escaped metacharacters in paths and metadata keep the documents valid.
func TestVirtXMLValidateHostile(t *testing.T) {
	c, nodes := labCluster(t, "nat")
	c.Hypervisor.StoragePool = `/srv/kprov pools/a&b <c>,"d'`
	d, err := Domain(c, nodes[0], hostDebian12, `sha256:<&"'>`)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []artifact{
		{"domain.xml", render(t, d)},
		{"pool.xml", render(t, Pool(c))},
		{"vol.xml", render(t, OverlayVolume(c, nodes[0]))},
	} {
		if err := judge.VirtXML(t, a.xml); err != nil {
			t.Errorf("%s: %v\n%s", a.file, err, a.xml)
		}
	}
}
