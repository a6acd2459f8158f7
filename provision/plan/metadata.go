package plan

import (
	"encoding/xml"

	"libvirt.org/go/libvirtxml"
)

// MetadataNS is the XML namespace of kprov's element in domain <metadata>.
// Discovery finds kprov's domains by it.
const MetadataNS = "https://github.com/kprov/kprov/xmlns/node/1"

// NodeMeta is what a kprov domain records about itself in <metadata>.
type NodeMeta struct {
	Cluster  string `xml:"cluster,attr"`
	Node     string `xml:"node,attr"`
	Pool     string `xml:"pool,attr"`
	Role     string `xml:"role,attr"`
	SpecHash string `xml:"spec-hash,attr"`
}

// metaOut writes <kprov:node xmlns:kprov=...>: encoding/xml cannot choose
// a namespace prefix itself, so the prefix is spelt out.
type metaOut struct {
	XMLName xml.Name `xml:"kprov:node"`
	NS      string   `xml:"xmlns:kprov,attr"`
	NodeMeta
}

func (m NodeMeta) xml() (string, error) {
	b, err := xml.Marshal(metaOut{NS: MetadataNS, NodeMeta: m})
	return string(b), err
}

// ParseNodeMeta reads kprov's element from a domain's metadata, whatever
// prefix libvirt gives it; ok is false when there is none.
func ParseNodeMeta(d *libvirtxml.Domain) (m NodeMeta, ok bool, err error) {
	if d.Metadata == nil {
		return m, false, nil
	}
	var wrap struct {
		Nodes []NodeMeta `xml:"https://github.com/kprov/kprov/xmlns/node/1 node"`
	}
	if err := xml.Unmarshal([]byte("<metadata>"+d.Metadata.XML+"</metadata>"), &wrap); err != nil {
		return m, false, err
	}
	if len(wrap.Nodes) == 0 {
		return m, false, nil
	}
	return wrap.Nodes[0], true, nil
}
