package plan

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"libvirt.org/go/libvirtxml"
)

// virtXMLValidate finds libvirt's own schema checker, the judge of every
// rendered object. It is required: only -short skips it.
func virtXMLValidate(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not running virt-xml-validate")
	}
	p, err := exec.LookPath("virt-xml-validate")
	if err != nil {
		t.Fatal("virt-xml-validate not found: install it with `apt-get install -y libvirt-clients libxml2-utils` (or run go test -short)")
	}
	return p
}

// validate runs virt-xml-validate on xml against schema and returns its
// output and whether it accepted the document.
func validate(t *testing.T, bin, name, schema string, xml []byte) (string, bool) {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, xml, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, f, schema).CombinedOutput()
	// Only a schema verdict counts: a missing schema or xmllint is fatal.
	if err != nil && !strings.Contains(string(out), "fails to validate") {
		t.Fatalf("virt-xml-validate did not judge %s: %v\n%s", name, err, out)
	}
	return string(out), err == nil
}

// installedLibvirt is the version of the libvirt whose schemas
// virt-xml-validate uses, read from virsh of the same package.
func installedLibvirt(t *testing.T) uint32 {
	t.Helper()
	out, err := exec.Command("virsh", "--version").Output()
	if err != nil {
		t.Fatalf("virsh --version: %v (install libvirt-clients)", err)
	}
	var v [3]uint32
	for i, f := range strings.SplitN(strings.TrimSpace(string(out)), ".", 3) {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			t.Fatalf("virsh --version printed %q", out)
		}
		v[i] = uint32(n)
	}
	return LibvirtVersion(v[0], v[1], v[2])
}

func TestVirtXMLValidateAccepts(t *testing.T) {
	bin := virtXMLValidate(t)
	native := installedLibvirt(t) >= NativeNVMeSince
	for _, a := range artifacts(t) {
		t.Run(a.file, func(t *testing.T) {
			t.Parallel()
			out, ok := validate(t, bin, a.file, a.schema, a.xml)
			if a.file == "domain-nvme-native-kvm.xml" && !native {
				// The judge's schema predates <target bus='nvme'>, which
				// is why older hosts get the qemu:commandline form.
				if ok {
					t.Fatal("libvirt older than 11.5 accepted bus='nvme'; NativeNVMeSince is wrong")
				}
				return
			}
			if !ok {
				t.Fatalf("virt-xml-validate rejects %s:\n%s\n%s", a.file, out, a.xml)
			}
		})
	}
}

// On a host whose schemas lack the nvme bus, the native NVMe domain must
// be valid but for that bus: the same domain with a virtio disk passes.
func TestVirtXMLValidateNativeNVMeButBus(t *testing.T) {
	bin := virtXMLValidate(t)
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
	if out, ok := validate(t, bin, "domain.xml", "domain", render(t, d)); !ok {
		t.Fatalf("virt-xml-validate rejects the native NVMe domain with a virtio bus:\n%s", out)
	}
}

// The judge can fail: broken variants of a valid domain are rejected.
func TestVirtXMLValidateRejectsBrokenDomain(t *testing.T) {
	bin := virtXMLValidate(t)
	c, nodes := labCluster(t, "nat")
	d, err := Domain(c, nodes[0], hostDebian12, testSpecHash)
	if err != nil {
		t.Fatal(err)
	}
	good := string(render(t, d))
	if out, ok := validate(t, bin, "good.xml", "domain", []byte(good)); !ok {
		t.Fatalf("control domain rejected:\n%s", out)
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
		if out, ok := validate(t, bin, "broken.xml", "domain", []byte(broken)); ok {
			t.Errorf("%s: virt-xml-validate accepted it:\n%s", name, out)
		}
	}
}

// Escaped metacharacters in paths and metadata keep the documents valid.
func TestVirtXMLValidateHostile(t *testing.T) {
	bin := virtXMLValidate(t)
	c, nodes := labCluster(t, "nat")
	c.Hypervisor.StoragePool = `/srv/kprov pools/a&b <c>,"d'`
	d, err := Domain(c, nodes[0], hostDebian12, `sha256:<&"'>`)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []artifact{
		{"domain.xml", "domain", render(t, d)},
		{"pool.xml", "storagepool", render(t, Pool(c))},
		{"vol.xml", "storagevol", render(t, OverlayVolume(c, nodes[0]))},
	} {
		if out, ok := validate(t, bin, a.file, a.schema, a.xml); !ok {
			t.Errorf("virt-xml-validate rejects %s:\n%s\n%s", a.file, out, a.xml)
		}
	}
}
