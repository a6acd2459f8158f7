package plan

import (
	"path"

	"libvirt.org/go/libvirtxml"

	"github.com/kprov/kprov/provision/spec"
)

// Pool plans the directory storage pool holding every volume of c.
func Pool(c *spec.Cluster) *libvirtxml.StoragePool {
	return &libvirtxml.StoragePool{
		Type:   "dir",
		Name:   ResourceName(c.Name),
		Target: &libvirtxml.StoragePoolTarget{Path: c.Hypervisor.StoragePool},
	}
}

// BaseVolumeName is the volume of the base image every overlay is backed by.
func BaseVolumeName(c *spec.Cluster) string {
	return Prefix(c.Name) + "base." + c.Image.Format
}

// OverlayVolumeName is the copy-on-write boot disk of n.
func OverlayVolumeName(n Node) string { return n.Domain + ".qcow2" }

// SeedVolumeName is the cloud-init NoCloud seed ISO of n.
func SeedVolumeName(n Node) string { return n.Domain + "-seed.iso" }

// VolumePath is where a volume of c's pool lives on the host; a dir pool
// names its files after its volumes.
func VolumePath(c *spec.Cluster, volume string) string {
	return path.Join(c.Hypervisor.StoragePool, volume)
}

// BaseVolume plans the base image volume. Its capacity is the size in
// bytes of the image file the executor uploads into it.
func BaseVolume(c *spec.Cluster, imageBytes uint64) *libvirtxml.StorageVolume {
	return &libvirtxml.StorageVolume{
		Name:     BaseVolumeName(c),
		Capacity: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: imageBytes},
		Target: &libvirtxml.StorageVolumeTarget{
			Format: &libvirtxml.StorageVolumeTargetFormat{Type: c.Image.Format},
			// Public data that QEMU must read as a backing file even when
			// libvirt does not relabel the disk (qemu:commandline NVMe).
			Permissions: &libvirtxml.StorageVolumeTargetPermissions{Mode: "0644"},
		},
	}
}

// OverlayVolume plans n's boot disk: a qcow2 overlay on the base image,
// as large as the node's pool asks (the guest grows its root partition).
// With BootNVMeCommandline the executor must also chown the file to the
// QEMU user; see BootDiskOf.
func OverlayVolume(c *spec.Cluster, n Node) *libvirtxml.StorageVolume {
	return &libvirtxml.StorageVolume{
		Name:     OverlayVolumeName(n),
		Capacity: &libvirtxml.StorageVolumeSize{Unit: "GiB", Value: uint64(n.DiskGiB)},
		Target: &libvirtxml.StorageVolumeTarget{
			Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"},
			Compat: "1.1",
		},
		BackingStore: &libvirtxml.StorageVolumeBackingStore{
			Path:   VolumePath(c, BaseVolumeName(c)),
			Format: &libvirtxml.StorageVolumeTargetFormat{Type: c.Image.Format},
		},
	}
}

// SeedVolume plans n's seed ISO volume, as large as the ISO (seedBytes)
// the executor uploads into it.
func SeedVolume(n Node, seedBytes uint64) *libvirtxml.StorageVolume {
	return &libvirtxml.StorageVolume{
		Name:     SeedVolumeName(n),
		Capacity: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: seedBytes},
		Target: &libvirtxml.StorageVolumeTarget{
			Format: &libvirtxml.StorageVolumeTargetFormat{Type: "raw"},
		},
	}
}
