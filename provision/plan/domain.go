package plan

import (
	"fmt"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/kprov/kprov/provision/spec"
)

// nvmeSlot is the PCI slot of the NVMe boot disk in the qemu:commandline
// form. QEMU would otherwise take slot 1, which libvirt's first
// pcie-root-port then fails to claim.
const nvmeSlot = "0x10"

// tbCacheMiB caps QEMU's translation cache under software emulation; the
// default is 1 GiB of host memory per VM.
const tbCacheMiB = 256

// Domain plans the libvirt domain of node n on host h. specHash names the
// spec n was planned from; it is recorded in the domain's kprov metadata.
func Domain(c *spec.Cluster, n Node, h Host, specHash string) (*libvirtxml.Domain, error) {
	if h.DomainType != "kvm" && h.DomainType != "qemu" {
		return nil, fmt.Errorf("domain type %q is not kvm or qemu", h.DomainType)
	}
	mode, err := BootDiskOf(h, n)
	if err != nil {
		return nil, err
	}
	meta, err := NodeMeta{Cluster: c.Name, Node: n.Name, Pool: n.Pool, Role: n.Role, SpecHash: specHash}.xml()
	if err != nil {
		return nil, err
	}
	d := &libvirtxml.Domain{
		Type:     h.DomainType,
		Name:     n.Domain,
		Metadata: &libvirtxml.DomainMetadata{XML: meta},
		Memory:   &libvirtxml.DomainMemory{Value: uint(n.MemoryMiB), Unit: "MiB"},
		VCPU:     &libvirtxml.DomainVCPU{Value: uint(n.VCPU)},
		OS: &libvirtxml.DomainOS{
			Type: &libvirtxml.DomainOSType{Arch: "x86_64", Machine: "q35", Type: "hvm"},
		},
		Features: &libvirtxml.DomainFeatureList{
			ACPI: &libvirtxml.DomainFeature{},
			APIC: &libvirtxml.DomainFeatureAPIC{},
		},
		Clock:      &libvirtxml.DomainClock{Offset: "utc"},
		OnPoweroff: "destroy",
		OnReboot:   "restart",
		OnCrash:    "destroy",
		Devices:    devices(c, n, h),
	}
	if h.DomainType == "kvm" {
		d.CPU = &libvirtxml.DomainCPU{Mode: "host-passthrough"}
	} else {
		d.Features.TCG = &libvirtxml.DomainFeatureTCG{
			TBCache: &libvirtxml.DomainFeatureTCGTBCache{Unit: "MiB", Size: tbCacheMiB},
		}
	}
	bootDisk(d, c, n, mode)
	return d, nil
}

// devices are everything but the boot disk: the seed cdrom on virtio-scsi
// (Debian's cloud kernel has no SATA/AHCI driver), the NIC, a serial
// console logged to a file, and an entropy source.
func devices(c *spec.Cluster, n Node, h Host) *libvirtxml.DomainDeviceList {
	zero := uint(0)
	return &libvirtxml.DomainDeviceList{
		Disks: []libvirtxml.DomainDisk{{
			Device: "cdrom",
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
			Source: &libvirtxml.DomainDiskSource{
				File: &libvirtxml.DomainDiskSourceFile{File: VolumePath(c, SeedVolumeName(n))},
			},
			Target:   &libvirtxml.DomainDiskTarget{Dev: "sda", Bus: "scsi"},
			ReadOnly: &libvirtxml.DomainDiskReadOnly{},
		}},
		Controllers: []libvirtxml.DomainController{{Type: "scsi", Index: &zero, Model: "virtio-scsi"}},
		Interfaces: []libvirtxml.DomainInterface{{
			MAC: &libvirtxml.DomainInterfaceMAC{Address: n.MAC},
			Source: &libvirtxml.DomainInterfaceSource{
				Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: ResourceName(c.Name)},
			},
			Model: &libvirtxml.DomainInterfaceModel{Type: "virtio"},
		}},
		Serials: []libvirtxml.DomainSerial{{
			Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
			Target: &libvirtxml.DomainSerialTarget{Port: &zero},
			Log:    &libvirtxml.DomainChardevLog{File: ConsoleLog(h, n), Append: "on"},
		}},
		Consoles: []libvirtxml.DomainConsole{{
			Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
			Target: &libvirtxml.DomainConsoleTarget{Type: "serial", Port: &zero},
		}},
		RNGs: []libvirtxml.DomainRNG{{
			Model: "virtio",
			Backend: &libvirtxml.DomainRNGBackend{
				Random: &libvirtxml.DomainRNGBackendRandom{Device: "/dev/urandom"},
			},
		}},
	}
}

// bootDisk adds n's overlay as the first boot device, the way mode says.
func bootDisk(d *libvirtxml.Domain, c *spec.Cluster, n Node, mode BootDisk) {
	file := VolumePath(c, OverlayVolumeName(n))
	if mode == BootNVMeCommandline {
		// Invisible to libvirt: no <disk>, so no <boot order> anywhere and
		// the device's bootindex decides. QEMU options take ",," for ",".
		drive := "kprov-boot"
		d.QEMUCommandline = &libvirtxml.DomainQEMUCommandline{Args: []libvirtxml.DomainQEMUCommandlineArg{
			{Value: "-drive"},
			{Value: "file=" + qemuOpt(file) + ",if=none,id=" + drive + ",format=qcow2,discard=unmap"},
			{Value: "-device"},
			{Value: "nvme,drive=" + drive + ",serial=" + qemuOpt(nvmeSerial(n)) + ",bootindex=1,bus=pcie.0,addr=" + nvmeSlot},
		}}
		return
	}
	disk := libvirtxml.DomainDisk{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2", Discard: "unmap"},
		Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: file}},
		Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
		Boot:   &libvirtxml.DomainDeviceBoot{Order: 1},
	}
	if mode == BootNVMe {
		// libvirt requires a serial on NVMe disks.
		disk.Target = &libvirtxml.DomainDiskTarget{Dev: "nvme0n1", Bus: "nvme"}
		disk.Serial = nvmeSerial(n)
	}
	d.Devices.Disks = append([]libvirtxml.DomainDisk{disk}, d.Devices.Disks...)
}

// nvmeSerial is the disk serial the guest sees; NVMe serials hold 20 bytes.
func nvmeSerial(n Node) string {
	if len(n.Name) > 20 {
		return n.Name[:20]
	}
	return n.Name
}

// qemuOpt escapes a value inside a QEMU -drive or -device option list.
func qemuOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }
