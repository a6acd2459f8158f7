package plan

import (
	"fmt"
	"path"
)

// Host is what the plan needs to know about the libvirt host; the executor
// fills it from the live connection (virConnectGetLibVersion, the spec's
// accelerator and a probe of /dev/kvm).
type Host struct {
	// LibvirtVersion is libvirt's encoding: major*1e6 + minor*1e3 + micro.
	LibvirtVersion uint32
	// DomainType is "kvm" or "qemu" (software emulation, TCG).
	DomainType string
	// LogDir holds the serial console logs; DefaultLogDir when empty.
	LogDir string
}

// DefaultLogDir is where qemu:///system keeps its per-domain logs.
const DefaultLogDir = "/var/log/libvirt/qemu"

// NativeNVMeSince is the first libvirt release that accepts
// <target bus='nvme'> for emulated disks (11.5.0, NEWS "qemu: Add support
// for NVMe disks"); 9.0 rejects it.
const NativeNVMeSince = 11_005_000

// LibvirtVersion encodes major.minor.micro the way libvirt does.
func LibvirtVersion(major, minor, micro uint32) uint32 {
	return major*1_000_000 + minor*1_000 + micro
}

// NativeNVMe reports whether the host's libvirt has the nvme disk bus.
func (h Host) NativeNVMe() bool { return h.LibvirtVersion >= NativeNVMeSince }

// BootDisk is how a node's boot disk is attached.
type BootDisk string

// Ways to attach the boot disk.
const (
	// BootVirtio is a virtio-blk disk (/dev/vda).
	BootVirtio BootDisk = "virtio"
	// BootNVMe is libvirt's native NVMe disk (/dev/nvme0n1).
	BootNVMe BootDisk = "nvme"
	// BootNVMeCommandline passes the NVMe device to QEMU through
	// <qemu:commandline>, for libvirt older than NativeNVMeSince. libvirt
	// neither chowns nor labels such a file: the executor must make the
	// node's overlay volume owned by the QEMU user (libvirt-qemu on Debian),
	// the base image readable by it, and, where AppArmor or SELinux confine
	// QEMU, allow both files.
	BootNVMeCommandline BootDisk = "nvme-qemu-commandline"
)

// BootDiskOf picks how n's boot disk is attached on h.
func BootDiskOf(h Host, n Node) (BootDisk, error) {
	switch n.DiskBus {
	case "virtio":
		return BootVirtio, nil
	case "nvme":
		if h.NativeNVMe() {
			return BootNVMe, nil
		}
		return BootNVMeCommandline, nil
	}
	return "", fmt.Errorf("node %s: disk_bus %q is not nvme or virtio", n.Name, n.DiskBus)
}

// ConsoleLog is the file the serial console of n is logged to.
func ConsoleLog(h Host, n Node) string {
	dir := h.LogDir
	if dir == "" {
		dir = DefaultLogDir
	}
	return path.Join(dir, n.Domain+"-console.log")
}
