package virt

import (
	"io"

	"github.com/digitalocean/go-libvirt"
)

// client is the part of go-libvirt that kprov calls, with go-libvirt's
// signatures: *libvirt.Libvirt on a real daemon, an in-memory fake in the
// unit tests (fake_test.go).
type client interface {
	ConnectGetCapabilities() (string, error)
	ConnectGetDomainCapabilities(emulator, arch, machine, virtType libvirt.OptString, flags libvirt.ConnectGetDomainCapabilitiesFlags) (string, error)
	ConnectGetLibVersion() (uint64, error)
	ConnectListAllDomains(needResults int32, flags libvirt.ConnectListAllDomainsFlags) ([]libvirt.Domain, uint32, error)
	Disconnect() error
	IsConnected() bool

	NetworkLookupByName(name string) (libvirt.Network, error)
	NetworkDefineXML(xml string) (libvirt.Network, error)
	NetworkGetXMLDesc(net libvirt.Network, flags uint32) (string, error)
	NetworkUpdateCompat(net libvirt.Network, command libvirt.NetworkUpdateCommand, section libvirt.NetworkUpdateSection, parentIndex int32, xml string, flags libvirt.NetworkUpdateFlags) error
	NetworkIsActive(net libvirt.Network) (int32, error)
	NetworkCreate(net libvirt.Network) error
	NetworkGetAutostart(net libvirt.Network) (int32, error)
	NetworkSetAutostart(net libvirt.Network, autostart int32) error
	NetworkDestroy(net libvirt.Network) error
	NetworkUndefine(net libvirt.Network) error

	StoragePoolLookupByName(name string) (libvirt.StoragePool, error)
	StoragePoolDefineXML(xml string, flags uint32) (libvirt.StoragePool, error)
	StoragePoolBuild(pool libvirt.StoragePool, flags libvirt.StoragePoolBuildFlags) error
	StoragePoolIsActive(pool libvirt.StoragePool) (int32, error)
	StoragePoolCreate(pool libvirt.StoragePool, flags libvirt.StoragePoolCreateFlags) error
	StoragePoolGetAutostart(pool libvirt.StoragePool) (int32, error)
	StoragePoolSetAutostart(pool libvirt.StoragePool, autostart int32) error
	StoragePoolRefresh(pool libvirt.StoragePool, flags uint32) error
	StoragePoolListAllVolumes(pool libvirt.StoragePool, needResults int32, flags uint32) ([]libvirt.StorageVol, uint32, error)
	StoragePoolDestroy(pool libvirt.StoragePool) error
	StoragePoolDelete(pool libvirt.StoragePool, flags libvirt.StoragePoolDeleteFlags) error
	StoragePoolUndefine(pool libvirt.StoragePool) error

	StorageVolLookupByName(pool libvirt.StoragePool, name string) (libvirt.StorageVol, error)
	StorageVolCreateXML(pool libvirt.StoragePool, xml string, flags libvirt.StorageVolCreateFlags) (libvirt.StorageVol, error)
	StorageVolGetPath(vol libvirt.StorageVol) (string, error)
	StorageVolUpload(vol libvirt.StorageVol, r io.Reader, offset, length uint64, flags libvirt.StorageVolUploadFlags) error
	StorageVolDownload(vol libvirt.StorageVol, w io.Writer, offset, length uint64, flags libvirt.StorageVolDownloadFlags) error
	StorageVolDelete(vol libvirt.StorageVol, flags libvirt.StorageVolDeleteFlags) error

	DomainLookupByName(name string) (libvirt.Domain, error)
	DomainDefineXMLFlags(xml string, flags libvirt.DomainDefineFlags) (libvirt.Domain, error)
	DomainGetXMLDesc(dom libvirt.Domain, flags libvirt.DomainXMLFlags) (string, error)
	DomainGetState(dom libvirt.Domain, flags uint32) (state, reason int32, err error)
	DomainCreate(dom libvirt.Domain) error
	DomainDestroy(dom libvirt.Domain) error
	DomainUndefineFlags(dom libvirt.Domain, flags libvirt.DomainUndefineFlagsValues) error
}

var _ client = (*libvirt.Libvirt)(nil)
