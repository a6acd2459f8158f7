package verify

import (
	"fmt"
	"strings"

	"github.com/kprov/kprov/bootstrap/remote"
)

// The probe's checks, as the scripts name them in their result lines, in
// the order they are printed.
const (
	checkEth0MTU    = "eth0-mtu"
	checkPathMTU    = "path-mtu"
	checkPodToPod   = "pod-to-pod"
	checkService    = "service"
	checkDNSService = "dns-service"
	checkDNSAPI     = "dns-api"
	checkDeny       = "deny"
	checkDenyDNS    = "deny-dns"
	checkIngress    = "ingress"
)

// probeOrder lists every check of the probe, in printing order.
func probeOrder() []string {
	return []string{checkEth0MTU, checkPathMTU, checkPodToPod, checkService, checkDNSService,
		checkDNSAPI, checkDeny, checkDenyDNS, checkIngress}
}

// probeName is how a check is printed.
func probeName(check string) string {
	switch check {
	case checkEth0MTU:
		return "probe pod eth0 MTU"
	case checkPathMTU:
		return "probe pod path MTU across nodes"
	case checkPodToPod:
		return "probe pod to pod across nodes"
	case checkService:
		return "probe Service through kube-proxy"
	case checkDNSService:
		return "probe DNS name of a Service"
	case checkDNSAPI:
		return "probe DNS kubernetes.default"
	case checkDeny:
		return "probe default deny drops"
	case checkDenyDNS:
		return "probe DNS under default deny"
	case checkIngress:
		return "probe ingress client address"
	}
	return "probe " + check
}

// Markers of the scripts' output: one result line per check, and the
// client's last line.
const (
	resultPrefix = "KPROV-PROBE "
	endMarker    = "KPROV-PROBE-END"
)

// probePort is where every probe server (agnhost netexec) listens.
const probePort = 8080

// clientScript is what the client pod runs.
type clientScript struct {
	MTU int
	// MTUFile is eth0's MTU in sysfs (tests point it elsewhere).
	MTUFile string
	// Peer is server-b's pod IP, on the other node; "" with one node.
	Peer string
	// Warm is a server's pod IP (on the target's node when there are
	// two): the client waits until it answers before it measures, and it
	// must answer for a dropped request to the target to mean anything.
	Warm string
	// ServiceIP is the probe Service's cluster IP; Servers the names its
	// pods answer /hostname with.
	ServiceIP string
	Servers   []string
	// ServiceName and APIName are the probe Service's and the kubernetes
	// Service's DNS names.
	ServiceName, APIName string
	// Target is the default-deny target's pod IP; "" for no deny check.
	Target string
	// WarmTries bounds the wait, a second per try, for this pod's
	// network to pass traffic to Warm (its routes and policy may lag
	// behind its start).
	WarmTries int
}

// scriptHead defines say, which prints one result line (the detail on
// one line), and retry N CMD..., which runs CMD up to N times a second
// apart until it succeeds.
const scriptHead = `say() { printf 'KPROV-PROBE %s %s %s\n' "$1" "$2" "$(printf '%s' "$3" | tr '\n\r' '  ')"; }
retry() { n=$1; shift; i=1; until "$@"; do [ "$i" -ge "$n" ] && return 1; i=$((i+1)); sleep 1; done; }
`

// Script is the POSIX sh program of the client pod: every value is
// quoted here, the pod's own IP comes from the environment (POD_IP). It
// prints one result line per check it runs, then the end marker. The
// checks that need a second node run only when Peer is set; the deny
// check only when Target is.
func (s clientScript) Script() string {
	q := remote.Quote
	var b strings.Builder
	b.WriteString(scriptHead)
	fmt.Fprintf(&b, "MTU=%d\nMTU_FILE=%s\nPEER=%s\nWARM=%s\nSVC_IP=%s\nSVC_NAME=%s\nAPI_NAME=%s\nTARGET=%s\nPORT=%d\n",
		s.MTU, q(s.MTUFile), q(s.Peer), q(s.Warm), q(s.ServiceIP), q(s.ServiceName), q(s.APIName), q(s.Target), probePort)
	servers := make([]string, len(s.Servers))
	for i, n := range s.Servers {
		servers[i] = q(n)
	}
	pattern := strings.Join(servers, "|")
	if pattern == "" {
		pattern = "''"
	}
	fmt.Fprintf(&b, `
healthy() { curl -s -o /dev/null --max-time 2 "http://$WARM:$PORT/healthz"; }
retry %d healthy
got=$(cat "$MTU_FILE" 2>&1)
if [ "$got" = "$MTU" ]; then say eth0-mtu ok "eth0 MTU $got"
else say eth0-mtu fail "eth0 MTU $got, want $MTU: calico-config's veth_mtu is not what the spec asks"; fi
`, s.WarmTries)
	if s.Peer != "" {
		// The first ping of a size is the one that counts: once a
		// router's "fragmentation needed" arrives, the kernel fragments
		// later ones itself and they pass.
		b.WriteString(`
small=$((MTU-28)); big=$((MTU-27))
if ping -V 2>&1 | grep -q iputils; then
  if ! ping -c 1 -W 5 -M do -s "$small" "$PEER" >/dev/null 2>&1; then
    say path-mtu fail "no answer from $PEER to a $MTU-byte ping with DF set: the path between nodes carries less than the pod MTU"
  elif ping -c 1 -W 5 -M do -s "$big" "$PEER" >/dev/null 2>&1; then
    say path-mtu fail "$PEER answered a $((MTU+1))-byte ping with DF set: the pod MTU is above $MTU"
  else
    say path-mtu ok "$MTU-byte pings with DF set reach $PEER, $((MTU+1))-byte ones do not leave"
  fi
elif ping -c 1 -W 5 -s "$small" "$PEER" >/dev/null 2>&1; then
  say path-mtu ok "a $MTU-byte ping (DF set by the kernel) reached $PEER"
else
  say path-mtu fail "no answer from $PEER to a $MTU-byte ping (DF set by the kernel): the path between nodes carries less than the pod MTU"
fi

body=$(curl -sS --max-time 5 "http://$PEER:$PORT/clientip" 2>&1)
case "$body" in
"${POD_IP:-}":*) say pod-to-pod ok "server-b at $PEER saw this pod as $body" ;;
*) say pod-to-pod fail "server-b at $PEER answered '$body', want ${POD_IP:-this pod's IP}:PORT: pod traffic between nodes is lost or NATed" ;;
esac
`)
	}
	fmt.Fprintf(&b, `
hostname_of() { body=$(curl -sS --max-time 5 "http://$1:$PORT/hostname" 2>&1) && case "$body" in %s) return 0 ;; esac; return 1; }
if retry 3 hostname_of "$SVC_IP"; then say service ok "$SVC_IP:$PORT answered from $body"
else say service fail "$SVC_IP:$PORT: $body: kube-proxy does not forward the Service to its pods"; fi
if retry 3 hostname_of "$SVC_NAME"; then say dns-service ok "$SVC_NAME:$PORT answered from $body"
else say dns-service fail "$SVC_NAME:$PORT: $body"; fi
lookup() { out=$(nslookup "$1" 2>&1); }
if retry 3 lookup "$API_NAME"; then say dns-api ok "$API_NAME resolves"
else say dns-api fail "nslookup $API_NAME: $out"; fi
`, pattern)
	if s.Target != "" {
		b.WriteString(`
if healthy; then
  curl -s -o /dev/null --max-time 5 "http://$TARGET:$PORT/hostname" 2>/dev/null
  rc=$?
else
  rc=control
fi
case $rc in
control) say deny fail "the server at $WARM does not answer either: a request to the target that gets no answer proves nothing" ;;
0) say deny fail "the target at $TARGET answered: the default deny is not in force" ;;
28) say deny ok "the target at $TARGET did not answer in 5 s" ;;
*) say deny fail "curl to the target at $TARGET exited $rc, not 28 (timed out): it should be dropped, not refused or unreachable" ;;
esac
`)
	}
	b.WriteString("echo " + endMarker + "\n")
	return b.String()
}

// targetScript is what the default-deny target runs: it looks up
// apiName (retrying tries times, a second apart: its own policy may not
// be in place yet), prints the result line and becomes the server.
func targetScript(apiName string, tries int) string {
	return scriptHead + "API_NAME=" + remote.Quote(apiName) + "\n" + fmt.Sprintf(`lookup() { out=$(nslookup "$API_NAME" 2>&1); }
if retry %d lookup; then say deny-dns ok "$API_NAME resolves in a default-deny namespace"
else say deny-dns fail "nslookup $API_NAME: $out: default deny blocks DNS"; fi
exec /agnhost netexec --http-port=%d
`, tries, probePort)
}

// result is one check's line.
type result struct {
	status, detail string
}

// parseResults reads the result lines of logs (the first of each check
// counts) and whether the end marker came.
func parseResults(logs string) (map[string]result, bool) {
	out := map[string]result{}
	end := false
	for _, line := range strings.Split(logs, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == endMarker {
			end = true
			continue
		}
		rest, ok := strings.CutPrefix(line, resultPrefix)
		if !ok {
			continue
		}
		f := strings.SplitN(rest, " ", 3)
		if len(f) < 2 {
			continue
		}
		if _, seen := out[f[0]]; seen {
			continue
		}
		r := result{status: f[1]}
		if len(f) == 3 {
			r.detail = strings.TrimSpace(f[2])
		}
		out[f[0]] = r
	}
	return out, end
}

// maxDetail bounds a detail from a pod: a body or an error, on one line.
const maxDetail = 240

// toCheck turns check's result into a Check.
func (r result) toCheck(check string) Check {
	d := r.detail
	if len(d) > maxDetail {
		d = d[:maxDetail] + "..."
	}
	switch r.status {
	case "ok":
		return pass(probeName(check), "%s", d)
	case "fail":
		return fail(probeName(check), "%s", d)
	}
	return fail(probeName(check), "unknown result %q: %s", r.status, d)
}
