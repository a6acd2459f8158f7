package judge

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

const libvirtInstall = "apt-get install -y libvirt-clients libxml2-utils"

// VirtXML has libvirt's virt-xml-validate check a domain, network, storage
// pool or volume document against the schema its root element names.
func VirtXML(t testing.TB, xml []byte) error {
	t.Helper()
	bin := program(t, "virt-xml-validate", libvirtInstall)
	out, err := exec.Command(bin, writeTemp(t, "doc.xml", xml)).CombinedOutput()
	if err == nil {
		return nil
	}
	// Only a schema verdict counts: a missing schema or xmllint is fatal.
	if !strings.Contains(string(out), "fails to validate") {
		t.Fatalf("virt-xml-validate did not judge the document: %v\n%s", err, out)
	}
	return fmt.Errorf("virt-xml-validate rejects it: %s", out)
}

// InstalledLibvirt is the version of the libvirt whose schemas VirtXML
// uses, read from virsh of the same package.
func InstalledLibvirt(t testing.TB) (major, minor, micro uint32) {
	t.Helper()
	out, err := exec.Command(program(t, "virsh", libvirtInstall), "--version").Output()
	if err != nil {
		t.Fatalf("virsh --version: %v", err)
	}
	var v [3]uint32
	for i, f := range strings.SplitN(strings.TrimSpace(string(out)), ".", 3) {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			t.Fatalf("virsh --version printed %q", out)
		}
		v[i] = uint32(n)
	}
	return v[0], v[1], v[2]
}
