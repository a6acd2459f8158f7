package virt

import "github.com/digitalocean/go-libvirt"

// Raw is c's go-libvirt client, for lab tests that call what kprov
// itself does not (StorageVolCreateXMLFrom, Disconnected).
func Raw(c *Conn) *libvirt.Libvirt { return c.l.(*libvirt.Libvirt) }
