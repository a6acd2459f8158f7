package verify

import (
	"context"
	"fmt"
	"strings"
)

// Runner runs a command on a node as root (remote.Node).
type Runner interface {
	Name() string
	Run(ctx context.Context, command string) (string, error)
}

// Nodes checks each node: the NIC kprov named eth0 has the spec's MTU,
// and in IPVS mode kube-proxy has programmed the kubernetes Service.
func Nodes(ctx context.Context, nodes []Runner, e Expected) []Check {
	var checks []Check
	for _, n := range nodes {
		name := n.Name()
		out, err := n.Run(ctx, "cat /sys/class/net/eth0/mtu")
		if err != nil {
			checks = append(checks, fail("eth0 MTU on "+name, "%v", err))
		} else {
			checks = append(checks, expect("eth0 MTU on "+name, strings.TrimSpace(out), fmt.Sprint(e.NICMTU)))
		}
		if e.ProxyMode != "ipvs" {
			continue
		}
		out, err = n.Run(ctx, "ipvsadm -Ln")
		want := fmt.Sprintf("TCP  %s:443 %s", e.ServiceVIP, e.Scheduler)
		switch {
		case err != nil:
			checks = append(checks, fail("ipvs virtual servers on "+name, "%v", err))
		case strings.Contains(out, want):
			checks = append(checks, pass("ipvs virtual servers on "+name, "%d services, %s", strings.Count(out, "\nTCP")+strings.Count(out, "\nUDP"), want))
		default:
			checks = append(checks, fail("ipvs virtual servers on "+name, "no %q in ipvsadm -Ln: is kube-proxy running in IPVS mode?", want))
		}
	}
	return checks
}
