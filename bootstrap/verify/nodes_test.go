package verify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/verify"
)

// node answers commands from a table, as a node over SSH would.
type node struct {
	name string
	out  map[string]string
}

func (n node) Name() string { return n.name }

func (n node) Run(_ context.Context, cmd string) (string, error) {
	out, ok := n.out[cmd]
	if !ok {
		return "", errors.New("exit status 127: " + cmd + ": not found")
	}
	return out, nil
}

// ipvsadm -Ln on a kubeadm node in IPVS mode.
const ipvsadm = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.96.0.1:443 rr
  -> 10.17.0.10:6443              Masq    1      0          0
TCP  10.96.0.10:53 rr
UDP  10.96.0.10:53 rr
`

func TestNodes(t *testing.T) {
	e := verify.Expected{NICMTU: 1500, ProxyMode: "ipvs", Scheduler: "rr", ServiceVIP: "10.96.0.1"}
	good := node{"cp-1", map[string]string{"cat /sys/class/net/eth0/mtu": "1500\n", "ipvsadm -Ln": ipvsadm}}
	bad := node{"worker-1", map[string]string{"cat /sys/class/net/eth0/mtu": "1450\n", "ipvsadm -Ln": "IP Virtual Server version 1.2.1 (size=4096)\n"}}
	checks := verify.Nodes(context.Background(), []verify.Runner{good, bad}, e)
	var b strings.Builder
	failed := verify.Print(&b, checks)
	t.Log("\n" + b.String())
	got := strings.Join(strings.Fields(b.String()), " ")
	for _, want := range []string{
		"ok   eth0 MTU on cp-1",
		"ok   ipvs virtual servers on cp-1              3 services, TCP  10.96.0.1:443 rr",
		"FAIL eth0 MTU on worker-1                      1450, want 1500",
		`FAIL ipvs virtual servers on worker-1          no "TCP  10.96.0.1:443 rr" in ipvsadm -Ln: is kube-proxy running in IPVS mode?`,
	} {
		if !strings.Contains(got, strings.Join(strings.Fields(want), " ")) {
			t.Errorf("missing %q", want)
		}
	}
	if failed != 2 {
		t.Errorf("%d failed, want 2", failed)
	}
	// nftables mode: no ipvsadm check.
	e.ProxyMode = "nftables"
	if checks := verify.Nodes(context.Background(), []verify.Runner{good}, e); len(checks) != 1 {
		t.Errorf("nftables: %d checks", len(checks))
	}
}
