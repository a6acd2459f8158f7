package virt_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/labtest"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/virt"
)

// BenchmarkDiskStaging compares creating a node's disk as a qcow2 overlay
// on the base image (what kprov does) with a full copy of the base image.
// Target: the overlay >= 100x faster and under 50 ms.
func BenchmarkDiskStaging(b *testing.B) {
	if testing.Short() {
		b.Skip("needs a real libvirtd")
	}
	conn := labtest.Dial(b)
	base := filepath.Join(b.TempDir(), "base.qcow2")
	// A 512 MiB image full of data, like a real cloud image (zeros would
	// let the copy skip them).
	raw := base + ".raw"
	if out, err := exec.Command("sh", "-c", "head -c 512M /dev/urandom > "+raw+" && qemu-img convert -O qcow2 "+raw+" "+base+" && rm "+raw).CombinedOutput(); err != nil {
		b.Fatalf("make image: %v\n%s", err, out)
	}
	c := labtest.Spec(b, "stage", base, "")
	p := prov(b, conn, c)
	ctx := context.Background()
	for _, step := range []func(context.Context) error{p.EnsureNetwork, p.EnsurePool, p.EnsureImage} {
		if err := step(ctx); err != nil {
			b.Fatal(err)
		}
	}
	l := virt.Raw(conn)
	pool, err := l.StoragePoolLookupByName(plan.ResourceName(c.Name))
	if err != nil {
		b.Fatal(err)
	}
	baseVol, err := l.StorageVolLookupByName(pool, plan.BaseVolumeName(c))
	if err != nil {
		b.Fatal(err)
	}
	n := p.Nodes[0]
	overlay, _ := plan.OverlayVolume(c, n).Marshal()
	b.Run("overlay", func(b *testing.B) {
		for range b.N {
			vol, err := l.StorageVolCreateXML(pool, overlay, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			l.StorageVolDelete(vol, 0)
			b.StartTimer()
		}
	})
	clone := fmt.Sprintf("<volume><name>%s-copy.qcow2</name><capacity>0</capacity><target><format type='qcow2'/></target></volume>", n.Domain)
	b.Run("full-copy", func(b *testing.B) {
		for range b.N {
			vol, err := l.StorageVolCreateXMLFrom(pool, clone, baseVol, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			l.StorageVolDelete(vol, 0)
			b.StartTimer()
		}
	})
}

// BenchmarkDefineStart defines and starts 10 nodes (boot excluded: their
// disks are blank) with the default concurrency, one after another, and a
// single node for reference. Target: 10 nodes in <= 2x the time of 1.
func BenchmarkDefineStart(b *testing.B) {
	if testing.Short() {
		b.Skip("needs a real libvirtd")
	}
	conn := labtest.Dial(b)
	img := labtest.BlankImage(b)
	for _, tc := range []struct {
		name           string
		workers, paral int
	}{{"1-node", 0, 4}, {"10-nodes-concurrent", 9, 10}, {"10-nodes-sequential", 9, 1}} {
		b.Run(tc.name, func(b *testing.B) {
			c := labtest.Spec(b, "ds", img, "")
			workers := tc.workers
			c.NodePools[1].Count = &workers
			ctx := context.Background()
			var phase [4]time.Duration
			defer func() {
				for i, name := range []string{"disks", "seeds", "define", "start"} {
					b.ReportMetric(float64(phase[i].Milliseconds())/float64(b.N), name+"-ms/op")
				}
			}()
			for range b.N {
				b.StopTimer()
				p := prov(b, conn, c)
				p.Parallel = tc.paral
				for _, step := range []func(context.Context) error{p.EnsureNetwork, p.EnsurePool, p.EnsureImage} {
					if err := step(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				for i, step := range []func(context.Context) error{p.EnsureDisks, p.EnsureSeeds, p.EnsureDomains, p.Start} {
					t0 := time.Now()
					if err := step(ctx); err != nil {
						b.Fatal(err)
					}
					phase[i] += time.Since(t0)
				}
				b.StopTimer()
				if err := (&virt.Teardown{Conn: conn, Cluster: c.Name}).Run(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkNoopUp re-runs every provisioning step on a converged cluster:
// its wall time, and the changes it makes (target: zero).
func BenchmarkNoopUp(b *testing.B) {
	if testing.Short() {
		b.Skip("needs a real libvirtd")
	}
	conn := labtest.Dial(b)
	img := labtest.BlankImage(b)
	c := labtest.Spec(b, "noop", img, "")
	ctx := context.Background()
	if err := labtest.EnsureAll(ctx, prov(b, conn, c)); err != nil {
		b.Fatal(err)
	}
	var changes int64
	b.ResetTimer()
	for range b.N {
		p := prov(b, conn, c)
		if err := labtest.EnsureAll(ctx, p); err != nil {
			b.Fatal(err)
		}
		changes += p.Mutations()
	}
	b.ReportMetric(float64(changes)/float64(b.N), "changes/op")
}

func prov(b *testing.B, conn *virt.Conn, c *spec.Cluster) *virt.Provisioner {
	b.Helper()
	p, _ := labtest.Provisioner(b, conn, c)
	return p
}
