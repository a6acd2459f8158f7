package artifacts_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/kprov/kprov/internal/artifacts"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// bigSpec is a 1,000-node cluster: 3 control planes and 997 workers.
const bigSpec = `
cluster "big" {
  kubernetes_version = "1.37.2"
  image { source = "/srv/images/debian.qcow2" }
  network {
    node_cidr    = "10.20.0.0/20"
    pod_cidr     = "10.128.0.0/12"
    service_cidr = "10.96.0.0/12"
  }
  kube_proxy { mode = "nftables" }
  calico { version = "v3.31.5" }
  node_pool "cp" {
    role   = "control-plane"
    count  = 3
    memory = "4GiB"
  }
  node_pool "worker" {
    role  = "worker"
    count = 997
  }
}
`

// BenchmarkPlan1000 loads, validates and renders every artifact of a
// 1,000-node spec (state already generated, as on every run after the
// first). Target: under 1 s and 200 MB an operation.
func BenchmarkPlan1000(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "big.hcl")
	if err := os.WriteFile(path, []byte(bigSpec), 0o644); err != nil {
		b.Fatal(err)
	}
	c := load(b, path)
	nodes, err := artifacts.Nodes(c)
	if err != nil {
		b.Fatal(err)
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	secrets, err := state.Ensure(filepath.Join(dir, "state"), c.Name, names)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		l := spec.NewLoader()
		s, diags := l.LoadFile(path)
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		nodes, err := artifacts.Nodes(s.Cluster)
		if err != nil {
			b.Fatal(err)
		}
		set, err := artifacts.Build(s.Cluster, nodes, labHost, secrets)
		if err != nil {
			b.Fatal(err)
		}
		if len(set.Nodes) != 1000 {
			b.Fatal(fmt.Sprint(len(set.Nodes), " nodes"))
		}
	}
	b.StopTimer()
	// B/op counts every byte allocated (mostly short-lived YAML encoding
	// garbage); the process's peak resident memory is what a user pays.
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB")
	}
}
