package plan

import (
	"testing"

	"github.com/kprov/kprov/internal/golden"
	"github.com/kprov/kprov/provision/spec"
)

const testSpecHash = "sha256:5f0c3e9a1b7d"

var (
	hostDebian12 = Host{LibvirtVersion: LibvirtVersion(9, 0, 0), DomainType: "qemu"}
	hostModern   = Host{LibvirtVersion: LibvirtVersion(11, 5, 0), DomainType: "kvm"}
)

// artifact is one rendered libvirt object and its golden file.
type artifact struct {
	file string
	xml  []byte
}

// labCluster is the fixture behind every golden file: one control-plane
// node and two workers whose pool asks for virtio disks.
func labCluster(t testing.TB, mode string) (*spec.Cluster, []Node) {
	t.Helper()
	c := cluster(t, "lab", cp(1), worker(2))
	c.Network.Mode = mode
	c.Network.MTU = 1450
	if mode == "bridge" {
		c.Network.Bridge = "br0"
	}
	c.NodePools[1].DiskBus = "virtio"
	c.NodePools[1].Memory, c.NodePools[1].MemoryMiB = "1GiB", 1024
	return c, mustNodes(t, c)
}

func render(t testing.TB, v Marshaler) []byte {
	t.Helper()
	b, err := Render(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// artifacts renders every kind of object kprov creates.
func artifacts(t testing.TB) []artifact {
	t.Helper()
	var out []artifact
	for _, mode := range []string{"nat", "isolated", "bridge"} {
		c, nodes := labCluster(t, mode)
		n, err := Network(c, nodes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, artifact{"network-" + mode + ".xml", render(t, n)})
	}
	c, nodes := labCluster(t, "nat")
	cp1, w1 := nodes[0], nodes[1]
	out = append(out,
		artifact{"pool.xml", render(t, Pool(c))},
		artifact{"volume-base.xml", render(t, BaseVolume(c, 443_547_648))},
		artifact{"volume-overlay.xml", render(t, OverlayVolume(c, cp1))},
		artifact{"volume-seed.xml", render(t, SeedVolume(cp1, 374_784))},
	)
	for _, d := range []struct {
		file string
		node Node
		host Host
	}{
		{"domain-nvme-native-kvm.xml", cp1, hostModern},
		{"domain-nvme-commandline-qemu.xml", cp1, hostDebian12},
		{"domain-virtio-kvm.xml", w1, Host{LibvirtVersion: LibvirtVersion(9, 0, 0), DomainType: "kvm"}},
		{"domain-virtio-qemu.xml", w1, hostDebian12},
	} {
		dom, err := Domain(c, d.node, d.host, testSpecHash)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, artifact{d.file, render(t, dom)})
	}
	return out
}

func TestGolden(t *testing.T) {
	first := artifacts(t)
	for i, a := range artifacts(t) {
		if string(a.xml) != string(first[i].xml) {
			t.Errorf("%s: two renderings differ", a.file)
		}
		golden.Assert(t, a.file, a.xml)
	}
}
