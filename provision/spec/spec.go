// Package spec loads and validates kprov cluster specs written in HCL.
package spec

import (
	"cmp"

	"github.com/hashicorp/hcl/v2"
)

// Spec is a loaded, defaulted and validated cluster spec.
type Spec struct {
	Filename string
	Cluster  *Cluster
	// Warnings never block; they are shown to the user.
	Warnings hcl.Diagnostics
}

// Normalize applies defaults and fills the derived fields of c (MemoryMiB,
// DiskSizeGiB, PodMTU). It reports sizes it cannot parse; Load uses it
// before validating, and tests that build a Cluster in Go call it directly.
func Normalize(c *Cluster) error {
	applyDefaults(c)
	var first error
	for _, p := range c.NodePools {
		m, err := ParseMiB(p.Memory)
		first = cmp.Or(first, err)
		p.MemoryMiB = m
		d, err := ParseMiB(p.DiskSize)
		first = cmp.Or(first, err)
		p.DiskSizeGiB = (d + 1023) / 1024
	}
	c.Calico.PodMTU = PodMTU(c)
	return first
}

// PodMTU is the MTU of pod interfaces: the NIC MTU less the encapsulation
// overhead (IPIP 20, VXLAN 50), unless the spec sets a number.
func PodMTU(c *Cluster) int {
	if c.Calico.MTU != "" && c.Calico.MTU != "auto" {
		n := 0
		for _, r := range c.Calico.MTU {
			if r < '0' || r > '9' {
				return 0
			}
			n = n*10 + int(r-'0')
			if n > 1<<20 {
				return 0
			}
		}
		return n
	}
	return c.Network.MTU - EncapOverhead(c.Calico.Encapsulation)
}

// EncapOverhead is the bytes an encapsulation adds to each packet.
func EncapOverhead(encap string) int {
	switch encap {
	case "ipip":
		return 20
	case "vxlan":
		return 50
	}
	return 0
}
