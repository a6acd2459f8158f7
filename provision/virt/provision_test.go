package virt_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/labtest"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/virt"
)

// Against a real libvirtd: up creates what the plan says, a second up
// makes no change, down leaves nothing of the cluster, and twice is safe.
func TestUpConvergesAndDownLeavesNothing(t *testing.T) {
	labtest.Need(t)
	conn := labtest.Dial(t)
	c := labtest.Spec(t, "conv", labtest.BlankImage(t), "")
	p, _ := labtest.Provisioner(t, conn, c)
	ctx := context.Background()
	if err := labtest.EnsureAll(ctx, p); err != nil {
		t.Fatal(err)
	}
	if p.Mutations() == 0 {
		t.Fatal("first up made no change")
	}
	cp := p.Nodes[0]

	dom := labtest.Virsh(t, "dumpxml", cp.Domain)
	for _, want := range []string{
		"-device", "nvme,drive=", // NVMe boot disk on libvirt 9.0: qemu:commandline
		"kprov:node", `cluster="conv"`, `node="` + cp.Name + `"`, `role="control-plane"`,
		"<mac address='" + cp.MAC + "'/>", "bus='scsi'", "<type arch='x86_64' machine=",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("domain XML lacks %q:\n%s", want, dom)
		}
	}
	if !strings.Contains(dom, "type='qemu'") {
		t.Errorf("domain is not of type qemu (TCG)")
	}
	vol := labtest.Virsh(t, "vol-dumpxml", "--pool", plan.ResourceName("conv"), plan.OverlayVolumeName(cp))
	if !strings.Contains(vol, "<backingStore>") || !strings.Contains(vol, plan.BaseVolumeName(c)) {
		t.Errorf("overlay has no backing chain to the base image:\n%s", vol)
	}
	if !strings.Contains(vol, "<format type='qcow2'/>") {
		t.Errorf("overlay is not qcow2:\n%s", vol)
	}
	info := labtest.Virsh(t, "vol-info", "--pool", plan.ResourceName("conv"), plan.OverlayVolumeName(cp))
	if !strings.Contains(info, "4.00 GiB") {
		t.Errorf("overlay is not grown to the pool's disk size:\n%s", info)
	}
	net := labtest.Virsh(t, "net-dumpxml", plan.ResourceName("conv"))
	for _, n := range p.Nodes {
		want := "<host mac='" + n.MAC + "' name='" + n.Name + "' ip='" + n.IP.String() + "'/>"
		if !strings.Contains(net, want) {
			t.Errorf("network lacks the reservation %s:\n%s", want, net)
		}
	}
	if !strings.Contains(net, "<mtu size='1400'/>") {
		t.Errorf("network MTU is not the spec's:\n%s", net)
	}
	if st := labtest.Virsh(t, "domstate", cp.Domain); !strings.Contains(st, "running") {
		t.Errorf("domain state %q", st)
	}

	again, _ := labtest.Provisioner(t, conn, c)
	if err := labtest.EnsureAll(ctx, again); err != nil {
		t.Fatal(err)
	}
	if n := again.Mutations(); n != 0 {
		t.Errorf("a second up on a converged cluster made %d changes, want 0", n)
	}

	td := &virt.Teardown{Conn: conn, Cluster: "conv", LocalLogs: true}
	if err := td.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"list", "--all", "--name"}, {"net-list", "--all", "--name"}, {"pool-list", "--all", "--name"}} {
		if out := labtest.Virsh(t, args...); strings.Contains(out, "kprov-conv") {
			t.Errorf("virsh %s still shows the cluster:\n%s", args[0], out)
		}
	}
	if out, _ := exec.Command("ls", c.Hypervisor.StoragePool).CombinedOutput(); !strings.Contains(string(out), "No such file") {
		t.Errorf("pool folder %s is left: %s", c.Hypervisor.StoragePool, out)
	}
	for _, n := range p.Nodes {
		for _, f := range []string{plan.ConsoleLog(p.Host, n), "/var/log/libvirt/qemu/" + n.Domain + ".log"} {
			if _, err := os.Stat(f); err == nil {
				t.Errorf("log %s is left", f)
			}
		}
	}
	td2 := &virt.Teardown{Conn: conn, Cluster: "conv"}
	if err := td2.Run(ctx); err != nil || td2.Mutations() != 0 {
		t.Errorf("second down: %v, %d changes; want none", err, td2.Mutations())
	}
}

// down touches only what kprov tagged for the cluster.
func TestDownKeepsOthers(t *testing.T) {
	labtest.Need(t)
	conn := labtest.Dial(t)
	img := labtest.BlankImage(t)
	a, _ := labtest.Provisioner(t, conn, labtest.Spec(t, "keep-a", img, ""))
	ctx := context.Background()
	if err := labtest.EnsureAll(ctx, a); err != nil {
		t.Fatal(err)
	}
	// A domain named like kprov's but not tagged by it.
	stranger := `<domain type='qemu'><name>kprov-keep-b-cp-1</name><memory unit='MiB'>64</memory><os><type arch='x86_64'>hvm</type></os></domain>`
	strangerXML := filepath.Join(t.TempDir(), "stranger.xml")
	if err := os.WriteFile(strangerXML, []byte(stranger), 0o644); err != nil {
		t.Fatal(err)
	}
	labtest.Virsh(t, "define", strangerXML)
	defer labtest.Virsh(t, "undefine", "kprov-keep-b-cp-1")
	if err := (&virt.Teardown{Conn: conn, Cluster: "keep-b"}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	out := labtest.Virsh(t, "list", "--all", "--name")
	if !strings.Contains(out, "kprov-keep-b-cp-1") || !strings.Contains(out, "kprov-keep-a-cp-1") {
		t.Errorf("down of another cluster removed domains it did not own:\n%s", out)
	}
}

// down --keep-image keeps the pool and the base image, and the next up
// reuses them without importing again.
func TestDownKeepImage(t *testing.T) {
	labtest.Need(t)
	conn := labtest.Dial(t)
	c := labtest.Spec(t, "keepimg", labtest.BlankImage(t), "")
	p, _ := labtest.Provisioner(t, conn, c)
	ctx := context.Background()
	if err := labtest.EnsureAll(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := (&virt.Teardown{Conn: conn, Cluster: "keepimg", KeepImage: true}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	vols := labtest.Virsh(t, "vol-list", "--pool", "kprov-keepimg")
	if !strings.Contains(vols, plan.BaseVolumeName(c)) || strings.Contains(vols, "cp-1") {
		t.Errorf("after down --keep-image:\n%s", vols)
	}
	if out := labtest.Virsh(t, "list", "--all", "--name"); strings.Contains(out, "kprov-keepimg") {
		t.Errorf("domains left:\n%s", out)
	}
	again, _ := labtest.Provisioner(t, conn, c)
	var log []string
	again.Log = func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }
	if err := labtest.EnsureAll(ctx, again); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(log, "\n")
	if strings.Contains(all, "imported") || !strings.Contains(all, "cp-1: domain kprov-keepimg-cp-1 defined") {
		t.Errorf("the next up should reuse the kept image and recreate the nodes:\n%s", all)
	}
}
