package plan

import "libvirt.org/go/libvirtxml"

// Marshaler is any libvirtxml object: Domain, Network, StoragePool,
// StorageVolume.
type Marshaler interface {
	Marshal() (string, error)
}

// Render is the indented XML of v, newline-terminated, ready for libvirt
// or a golden file.
func Render(v Marshaler) ([]byte, error) {
	s, err := v.Marshal()
	if err != nil {
		return nil, err
	}
	return []byte(s + "\n"), nil
}

var (
	_ Marshaler = (*libvirtxml.Domain)(nil)
	_ Marshaler = (*libvirtxml.Network)(nil)
	_ Marshaler = (*libvirtxml.StoragePool)(nil)
	_ Marshaler = (*libvirtxml.StorageVolume)(nil)
)
