package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/internal/retry"
)

// createIngress creates the probe's Ingress and returns its class, or
// records why the ingress check does not run and returns "".
func (r *probeRun) createIngress(ctx context.Context) string {
	in := r.p.Ingress
	if in == nil {
		r.skip("skipped: the spec has no ingress addresses", checkIngress)
		return ""
	}
	class := in.Class
	if class == "" {
		var err error
		if class, err = r.defaultClass(ctx); err != nil {
			r.results[checkIngress] = fail(probeName(checkIngress), "%v", err)
			return ""
		}
		if class == "" {
			r.skip("skipped: no default IngressClass for the manifest's controller", checkIngress)
			return ""
		}
	}
	if _, err := r.Client.NetworkingV1().Ingresses(r.ns).Create(ctx, probeIngressOf(r.ns, class), metav1.CreateOptions{}); err != nil {
		r.results[checkIngress] = fail(probeName(checkIngress), "create Ingress in %s: %v", r.ns, r.cause(ctx, err))
		return ""
	}
	return class
}

// defaultClass is the IngressClass marked the cluster's default.
func (r *probeRun) defaultClass(ctx context.Context) (string, error) {
	list, err := r.Client.NetworkingV1().IngressClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", fmt.Errorf("list IngressClasses: %w", r.cause(ctx, err))
	}
	for _, c := range list.Items {
		if c.Annotations[addons.AnnotationDefaultClass] == "true" {
			return c.Name, nil
		}
	}
	return "", nil
}

// ingressCheck asks the ingress controller, from where kprov runs, for
// the X-Real-Ip it saw (the probe servers echo it) and compares it with
// this end of the connection. It retries, within IngressWait, while the
// controller has not routed the new Ingress yet; an address this machine
// cannot reach skips the check.
func (pr *Prober) ingressCheck(ctx context.Context, in ProbeIngress) Check {
	name := probeName(checkIngress)
	addr := in.Address
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "80")
	}
	dial := pr.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	}
	client := &http.Client{
		Transport: &http.Transport{DialContext: dial, DisableKeepAlives: true},
		Timeout:   10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	wait := pr.IngressWait
	if wait <= 0 {
		wait = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	url := "http://" + addr + "/header?key=X-Real-Ip"
	var last error
	var answer Check
	timeouts := 0
	err := retry.Do(ctx, retry.Every(pr.poll()), 0, func(ctx context.Context) error {
		var local net.Addr
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { local = i.Conn.LocalAddr() }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, url, nil)
		if err != nil {
			return retry.Stop(err)
		}
		req.Host = ingressHost
		resp, err := client.Do(req)
		if err == nil {
			body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && rerr == nil {
				answer = compareClient(name, strings.TrimSpace(string(body)), local, in.TrafficPolicy)
				return nil
			}
			last = fmt.Errorf("%s answered %s", addr, resp.Status)
		} else if ctx.Err() == nil || last == nil {
			// An attempt cut short by the deadline says less than the
			// one before it.
			last = err
		}
		switch unreachable(last) {
		case "timeout":
			timeouts++
		case "network":
			timeouts = 2
		}
		if timeouts >= 2 {
			return retry.Stop(errUnreachable)
		}
		return fmt.Errorf("no answer yet: %w", last)
	})
	var gave *retry.Error
	switch {
	case err == nil:
		return answer
	case err == errUnreachable:
		return Skip(name, "skipped: %s cannot be reached from here (%v): the ingress address is often only reachable on the node network", addr, last)
	case !errors.As(err, &gave):
		return fail(name, "%v", err)
	}
	return fail(name, "no answer with Host %s from %s within %s: %v", ingressHost, addr, wait, last)
}

// errUnreachable is an ingress address this machine cannot reach.
var errUnreachable = errors.New("unreachable from here")

// compareClient judges the address the controller saw against local.
func compareClient(name, saw string, local net.Addr, policy string) Check {
	here := ""
	if a, ok := local.(*net.TCPAddr); ok {
		here = a.IP.String()
	} else if local != nil {
		here, _, _ = net.SplitHostPort(local.String())
	}
	switch {
	case saw == "":
		return fail(name, "the controller set no X-Real-Ip header; this end of the connection is %s", here)
	case saw == here:
		return pass(name, "the controller saw %s, this end of the connection", saw)
	case policy != "Local":
		return pass(name, "the controller saw %s, not %s: the node translated it, as externalTrafficPolicy %s may", saw, here, policy)
	}
	return fail(name, "the controller saw %s, but this end of the connection is %s: externalTrafficPolicy Local should keep the client's address", saw, here)
}

// dialFailed says err happened while connecting.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// unreachable says why the address cannot be reached from this machine,
// if it cannot: connecting timed out ("timeout"), or this machine has no
// route to its network ("network"). A refusal is an answer.
func unreachable(err error) string {
	var ne net.Error
	switch {
	case !dialFailed(err):
		return ""
	case errors.Is(err, syscall.ENETUNREACH):
		return "network"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	return ""
}
