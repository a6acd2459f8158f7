// Package plan turns a validated spec into the concrete nodes and libvirt
// definitions kprov will create. Everything here is pure: no I/O.
package plan

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"maps"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"

	"github.com/kprov/kprov/provision/spec"
)

// Node is one planned virtual machine.
type Node struct {
	Name      string // host name, also the Kubernetes node name
	Domain    string // libvirt domain name: kprov-<cluster>-<name>
	Pool      string
	Index     int // 1-based within its pool
	Role      string
	MAC       string
	IP        netip.Addr
	VCPU      int
	MemoryMiB int
	DiskGiB   int
	DiskBus   string
	Labels    map[string]string
	Taints    []string
}

// Reserved is how many addresses at the start of the node CIDR are kept for
// the gateway and other infrastructure; nodes never get them.
const Reserved = spec.ReservedAddresses

// Prefix is put before every libvirt object kprov creates for a cluster.
func Prefix(cluster string) string { return "kprov-" + cluster + "-" }

// NodeName is the name of the index-th (1-based) node of a pool.
func NodeName(pool string, index int) string { return pool + "-" + strconv.Itoa(index) }

// Nodes expands the pools of c into nodes, in pool order then index order,
// each with a MAC and an IP derived from the cluster and node names.
// Colliding hashes are settled by index first (then pool name), so growing
// a pool from n to n+1 nodes never moves a node whose index is at most n;
// in particular it never moves a node of a pool at most n nodes long.
// Addresses in exclude (ingress addresses, say) are never handed out.
func Nodes(c *spec.Cluster, exclude ...netip.Addr) ([]Node, error) {
	prefix, err := netip.ParsePrefix(c.Network.NodeCIDR)
	if err != nil {
		return nil, fmt.Errorf("node_cidr: %w", err)
	}
	prefix = prefix.Masked()
	var nodes []Node
	for _, p := range c.NodePools {
		for i := 1; i <= *p.Count; i++ {
			name := NodeName(p.Name, i)
			nodes = append(nodes, Node{
				Name: name, Domain: Prefix(c.Name) + name, Pool: p.Name, Index: i, Role: p.Role,
				VCPU: p.VCPU, MemoryMiB: p.MemoryMiB, DiskGiB: p.DiskSizeGiB, DiskBus: p.DiskBus,
				Labels: maps.Clone(p.Labels), Taints: slices.Clone(p.Taints),
			})
		}
	}
	taken := map[netip.Addr]bool{}
	for _, a := range exclude {
		taken[a] = true
	}
	if gw, err := netip.ParseAddr(c.Network.Gateway); err == nil {
		taken[gw] = true
	}
	usable := Capacity(prefix)
	if len(nodes) > usable {
		return nil, fmt.Errorf("%d nodes do not fit node_cidr %s (%d usable addresses)", len(nodes), prefix, usable)
	}
	macs := map[string]bool{}
	// Assign by index, then pool name: a node added as index n+1 comes after
	// every node of index at most n, and pool order in the spec is irrelevant.
	order := make([]int, len(nodes))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		x, y := nodes[order[a]], nodes[order[b]]
		if x.Index != y.Index {
			return x.Index < y.Index
		}
		return x.Pool < y.Pool
	})
	for _, i := range order {
		n := &nodes[i]
		h := sha256.Sum256([]byte(c.Name + "/" + n.Name))
		slot := binary.BigEndian.Uint64(h[:8]) % uint64(usable)
		for range usable {
			ip := nth(prefix, Reserved+int(slot))
			if !taken[ip] {
				taken[ip] = true
				n.IP = ip
				break
			}
			slot = (slot + 1) % uint64(usable)
		}
		if !n.IP.IsValid() {
			return nil, fmt.Errorf("no free address in node_cidr %s for node %s", prefix, n.Name)
		}
		for k := 0; ; k++ {
			m := h
			if k > 0 {
				m = sha256.Sum256([]byte(c.Name + "/" + n.Name + "/" + strconv.Itoa(k)))
			}
			// 52:54:00 is QEMU's prefix, what libvirt hands out itself.
			mac := net.HardwareAddr{0x52, 0x54, 0x00, m[8], m[9], m[10]}.String()
			if !macs[mac] {
				macs[mac] = true
				n.MAC = mac
				break
			}
		}
	}
	return nodes, nil
}

// Capacity is how many node addresses a prefix holds: all but the network
// and broadcast addresses and the reserved ones.
func Capacity(p netip.Prefix) int { return spec.NodeSlots(p) }

// nth is the i-th address after the network address of p.
func nth(p netip.Prefix, i int) netip.Addr {
	b := new(big.Int).SetBytes(p.Addr().AsSlice())
	b.Add(b, big.NewInt(int64(i)+1))
	raw := b.FillBytes(make([]byte, len(p.Addr().AsSlice())))
	a, _ := netip.AddrFromSlice(raw)
	return a
}

// FirstControlPlane is the node kubeadm init runs on.
func FirstControlPlane(nodes []Node) (Node, bool) {
	for _, n := range nodes {
		if n.Role == spec.RoleControlPlane {
			return n, true
		}
	}
	return Node{}, false
}
