package nodepreprun

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kprov/kprov/bootstrap/remote"
)

// EtcdDir is where kubeadm's local etcd keeps its data.
const EtcdDir = "/var/lib/etcd"

// EtcdLimit is etcd's guidance: 99% of fdatasync calls under 10 ms.
const EtcdLimit = 10 * time.Millisecond

// fioCommand writes etcd-sized blocks with an fdatasync after each, as
// etcd's documentation measures a disk, and removes its file afterwards
// (kubeadm wants EtcdDir empty).
const fioCommand = "mkdir -p " + EtcdDir + " && fio --rw=write --ioengine=sync --fdatasync=1 --directory=" + EtcdDir +
	" --size=4m --bs=2300 --name=kprov-etcd-check --output-format=json; rc=$?; rm -f " + EtcdDir + "/kprov-etcd-check*; exit $rc"

// EtcdRuns reports whether etcd already keeps data on h: its disk is then
// not measured again (fio would write to etcd's own disk under load).
func EtcdRuns(ctx context.Context, n remote.Node) (bool, error) {
	out, err := n.Run(ctx, "test -d "+EtcdDir+"/member && echo yes || echo no")
	return strings.TrimSpace(out) == "yes", err
}

// EtcdDisk measures the 99th percentile fdatasync latency of the disk
// etcd will use on a control-plane node.
func EtcdDisk(ctx context.Context, n remote.Node) (time.Duration, error) {
	out, err := n.Run(ctx, fioCommand)
	if err != nil {
		return 0, err
	}
	return parseFio(out)
}

// parseFio reads the fdatasync p99 from fio's JSON output.
func parseFio(out string) (time.Duration, error) {
	// fio may print notes before its JSON.
	start := 0
	for i, c := range out {
		if c == '{' {
			start = i
			break
		}
	}
	var r struct {
		Jobs []struct {
			Sync struct {
				LatNS struct {
					Percentile map[string]float64 `json:"percentile"`
				} `json:"lat_ns"`
			} `json:"sync"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out[start:]), &r); err != nil {
		return 0, fmt.Errorf("fio output: %w", err)
	}
	if len(r.Jobs) == 0 {
		return 0, fmt.Errorf("fio output has no job")
	}
	p, ok := r.Jobs[0].Sync.LatNS.Percentile["99.000000"]
	if !ok {
		return 0, fmt.Errorf("fio output has no fdatasync 99th percentile")
	}
	return time.Duration(p), nil
}

// EtcdDiskError is a disk too slow for etcd.
type EtcdDiskError struct {
	Node string
	P99  time.Duration
}

func (e *EtcdDiskError) Error() string {
	return fmt.Sprintf("node %s: fdatasync p99 on %s is %s; etcd needs under %s or it loses leader elections under load. "+
		"Put %s on a faster disk, or set etcd { disk_check = \"warn\" } to go on anyway (labs, emulation)",
		e.Node, EtcdDir, e.P99.Round(time.Microsecond), EtcdLimit, EtcdDir)
}

// formatP99 is a short form for status lines.
func formatP99(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + " ms"
}
