// Package verify checks on a live cluster that the networking kprov set up
// is in force: calico-node's settings and pool, the MTU, kube-proxy's mode,
// the ingress Service and the policies. One line per check.
package verify

import (
	"fmt"
	"io"
	"strings"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/provision/spec"
)

// Check is one verified setting.
type Check struct {
	Name   string
	OK     bool
	Detail string // what was found; on failure what was wanted too
	// Skipped says the check could not run (Detail says why): not a
	// pass, not a failure.
	Skipped bool
}

func pass(name, format string, args ...any) Check {
	return Check{Name: name, OK: true, Detail: fmt.Sprintf(format, args...)}
}

func fail(name, format string, args ...any) Check {
	return Check{Name: name, Detail: fmt.Sprintf(format, args...)}
}

// Skip is a check that could not run, saying why.
func Skip(name, format string, args ...any) Check {
	return Check{Name: name, Skipped: true, Detail: fmt.Sprintf(format, args...)}
}

// expect compares got with want.
func expect(name, got, want string) Check {
	if got == want {
		return pass(name, "%s", got)
	}
	if got == "" {
		got = "(unset)"
	}
	return fail(name, "%s, want %s", got, want)
}

// Expected is what the spec asks for.
type Expected struct {
	Calico     addons.Calico
	NICMTU     int
	ProxyMode  string
	Scheduler  string
	StrictARP  bool
	Ingress    *addons.Ingress
	Policy     addons.Policy
	ServiceVIP string // the kubernetes Service's cluster IP, for ipvsadm
}

// Expect reads a normalized spec.
func Expect(c *spec.Cluster) Expected {
	return Expected{
		Calico:     addons.CalicoOf(c),
		NICMTU:     c.Network.MTU,
		ProxyMode:  c.KubeProxy.Mode,
		Scheduler:  c.KubeProxy.IPVSScheduler,
		StrictARP:  c.KubeProxy.Mode == "ipvs" && c.Ingress != nil && c.Ingress.LoadBalancer == "metallb",
		Ingress:    addons.IngressOf(c),
		Policy:     addons.PolicyOf(c),
		ServiceVIP: firstServiceIP(c.Network.ServiceCIDR),
	}
}

// Print writes one line per check and returns how many failed (a
// skipped check is marked skip and counts as neither).
func Print(w io.Writer, checks []Check) int {
	failed := 0
	for _, c := range checks {
		mark := "ok  "
		switch {
		case c.Skipped:
			mark = "skip"
		case !c.OK:
			mark = "FAIL"
			failed++
		}
		fmt.Fprintf(w, "%s %-40s %s\n", mark, c.Name, strings.TrimSpace(c.Detail))
	}
	return failed
}
