package e2e_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/labtest"
)

// upgradeStep is one version of the lab's upgrade chain: the kind of
// upgrade that reaches it, and a log line at which its first up is cut.
type upgradeStep struct{ version, kind, interruptAt string }

// upgrades are the lab's upgrade steps: a cluster made at the first
// version, upgraded to each next one (Makefile's UPGRADE_FROM builds the
// older releases' binaries and images): a minor upgrade, then a patch
// upgrade to examples/lab.hcl's release, interrupted (SIGINT) once
// worker-1 is drained and finished by the next up. UpgradeStepsEnv picks
// a part of the chain: "1.30.4,1.30.14" runs the patch upgrade alone.
var upgrades = []upgradeStep{
	{"1.29.15", "", ""},
	{"1.30.4", "minor", ""},
	{"1.30.14", "patch", "worker-1: drained"},
}

// UpgradeStepsEnv names the versions of the chain to run, in order.
const UpgradeStepsEnv = "KPROV_E2E_UPGRADE_STEPS"

// chosenSteps are the steps UpgradeStepsEnv names, or all of them.
func chosenSteps(t *testing.T) []upgradeStep {
	env := os.Getenv(UpgradeStepsEnv)
	if env == "" {
		return upgrades
	}
	var out []upgradeStep
	for _, v := range strings.Split(env, ",") {
		found := false
		for _, s := range upgrades {
			if s.version == v {
				out, found = append(out, s), true
			}
		}
		if !found {
			t.Fatalf("%s: %s is not a step of the chain %v", UpgradeStepsEnv, v, upgrades)
		}
	}
	if len(out) < 2 {
		t.Fatalf("%s=%s: name two steps or more", UpgradeStepsEnv, env)
	}
	return out
}

// Upgrades in place on the lab: a cluster made at 1.29.15 (one control
// plane, one worker; no addons, as Calico does not come up under this
// host's emulation) holding a ConfigMap; kubernetes_version raised one
// step at a time: plan shows both nodes as to upgrade (not drifted); up
// upgrades them while a prober counts failed API requests; then every
// kubelet, the control plane's static pods and kube-proxy are at the new
// version, no node is left cordoned or marked, the ConfigMap is there, the
// VMs are the same, and a second up changes nothing. A jump of two minor
// versions is refused before anything is done.
func TestLabUpgrade(t *testing.T) {
	upgrades := chosenSteps(t)
	last := body[strings.Index(body, `kubernetes_version = "`)+len(`kubernetes_version = "`):]
	last = last[:strings.IndexByte(last, '"')]
	from := strings.Replace(body, `kubernetes_version = "`+last+`"`, `kubernetes_version = "`+upgrades[0].version+`"`, 1)
	from = strings.Replace(from, "count  = 2", "count  = 1", 1)
	// One crictl for every step (the proxy serves no cri-tools v1.29.0);
	// Makefile's UPGRADE_CRICTL builds it.
	from = strings.Replace(from, `artifacts { mirror = "http://`+gateway+`:8080" }`,
		`artifacts {
    mirror         = "http://`+gateway+`:8080"
    crictl_version = "v1.30.0"
  }`, 1)
	if !strings.Contains(from, `crictl_version = "v1.30.0"`) || !strings.Contains(from, "count  = 1") ||
		!strings.Contains(from, `kubernetes_version = "`+upgrades[0].version+`"`) {
		t.Fatal("the spec body is not the one this test rewrites")
	}
	l := newLabOf(t, from)
	start := time.Now()
	_, msg := l.kprov("up", "--skip", "addons", l.spec)
	t.Logf("up at %s: %s\n%s", upgrades[0].version, time.Since(start).Round(time.Second), msg)
	kc, _ := l.kprov("kubeconfig", l.spec)
	l.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(l.kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	l.mustKubectl("", "create", "configmap", "e2e-before-upgrade", "--from-literal=made=before")
	uuids := l.domainUUIDs()

	// Two minor versions at once: refused before any node is touched,
	// naming the step between.
	minor, _ := strconv.Atoi(strings.Split(upgrades[0].version, ".")[1])
	jump := fmt.Sprintf("1.%d.0", minor+2)
	l.setVersion(upgrades[0].version, jump)
	if _, stderr, err := l.kprovErr("up", "--skip", "addons", l.spec); err == nil || !strings.Contains(stderr, fmt.Sprintf(`kubernetes_version = "1.%d.x"`, minor+1)) {
		t.Errorf("a jump of two minors: %v\n%s", err, stderr)
	}
	l.setVersion(jump, upgrades[0].version)

	for i, step := range upgrades[1:] {
		prev := upgrades[i].version
		if got := l.versions(); strings.Count(got, "=v"+prev) != 2 {
			t.Fatalf("nodes before the upgrade to %s: %s", step.version, got)
		}
		l.setVersion(prev, step.version)
		plan, _ := l.kprov("plan", l.spec)
		head := "^ upgrade kubelet v" + prev + " -> v" + step.version + " (" + step.kind + "): kubeadm upgrade "
		for _, want := range []string{head + "apply", head + "node", "2 to upgrade"} {
			if !strings.Contains(plan, want) {
				t.Errorf("plan does not say %q:\n%s", want, plan)
			}
		}
		if strings.Contains(plan, "drifted") {
			t.Errorf("plan calls a node drifted:\n%s", plan)
		}
		l.upgrade(prev, step.version, step.interruptAt)
		if after := l.domainUUIDs(); after != uuids {
			t.Errorf("the VMs were replaced: %s, then %s", uuids, after)
		}
	}
	if out := l.mustKubectl("", "get", "configmap", "e2e-before-upgrade", "-o", "jsonpath={.data.made}"); out != "before" {
		t.Errorf("the ConfigMap after the upgrades: %q", out)
	}
	_, msg = l.kprov("up", "--skip", "addons", l.spec)
	if !strings.Contains(msg, " 0 changes made") {
		t.Errorf("a second up changed something:\n%s", msg)
	}
}

// setVersion rewrites the spec's kubernetes_version.
func (l *lab) setVersion(from, to string) {
	l.t.Helper()
	spec, err := os.ReadFile(l.spec)
	if err != nil {
		l.t.Fatal(err)
	}
	next := strings.Replace(string(spec), `kubernetes_version = "`+from+`"`, `kubernetes_version = "`+to+`"`, 1)
	if next == string(spec) {
		l.t.Fatalf("the spec does not name %s", from)
	}
	if err := os.WriteFile(l.spec, []byte(next), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// versions are the nodes' kubelet versions, as NAME=VERSION.
func (l *lab) versions() string {
	return l.mustKubectl("", "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion} {end}")
}

// upgrade runs up to the spec's new version while a prober sends one API
// request every 2 s, then checks the cluster is all at version to. With
// interruptAt, the first up gets SIGINT when it logs that, and a second up
// finishes the upgrade.
func (l *lab) upgrade(from, to, interruptAt string) {
	t := l.t
	t.Helper()
	var sent, failed atomic.Int64
	var firstFail, lastFail atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 3600; i++ {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Second):
			}
			sent.Add(1)
			if out, err := l.kubectl("", "get", "--raw", "/readyz", "--request-timeout=5s"); err != nil || strings.TrimSpace(out) != "ok" {
				now := time.Now().Unix()
				failed.Add(1)
				firstFail.CompareAndSwap(0, now)
				lastFail.Store(now)
			}
		}
	}()
	start := time.Now()
	var msg string
	if interruptAt != "" {
		cut := l.interruptedUp(interruptAt)
		t.Logf("up cut at %q after %s:\n%s", interruptAt, time.Since(start).Round(time.Second), cut)
		// What the interrupted run said is kept for the checks below.
		msg = cut
	}
	_, rest, err := l.kprovErr("up", "--skip", "addons", l.spec)
	msg += rest
	close(stop)
	wg.Wait()
	t.Logf("upgrade %s -> %s: %s; API requests failed %d of %d (first to last failure %ds)\n%s", from, to,
		time.Since(start).Round(time.Second), failed.Load(), sent.Load(), lastFail.Load()-firstFail.Load(), msg)
	if err != nil {
		t.Fatalf("up to %s: %v", to, err)
	}
	for _, want := range []string{"kubeadm upgrade apply: control plane v" + from + " -> v" + to,
		"cp-1: uncordoned", "worker-1: kubeadm upgrade node", "worker-1: uncordoned"} {
		if !strings.Contains(msg, want) {
			t.Errorf("up did not say %q", want)
		}
	}
	if got := l.versions(); strings.Count(got, "=v"+to) != 2 {
		t.Errorf("nodes after the upgrade: %s", got)
	}
	// kube-proxy's DaemonSet rolls its pods after up returns.
	eventually(t, "kube-system's pods at v"+to, 10*time.Minute, func() (bool, string) {
		images, err := l.kubectl("", "get", "pods", "-n", "kube-system", "-o", "jsonpath={range .items[*]}{.spec.containers[0].image} {end}")
		if err != nil {
			return false, err.Error()
		}
		for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"} {
			if !strings.Contains(images, c+":v"+to) || strings.Contains(images, c+":v"+from) {
				return false, c + " is not (only) at v" + to + ": " + images
			}
		}
		return true, ""
	})
	cordoned := l.mustKubectl("", "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}:{.spec.unschedulable}:{.metadata.annotations.kprov\\.dev/upgrading-to} {end}")
	if strings.Contains(cordoned, "true") || strings.Contains(cordoned, "v1.") {
		t.Errorf("a node is left cordoned or marked: %s", cordoned)
	}
}

// domainUUIDs are the lab domains' UUIDs, to tell a VM kept from one made
// anew.
func (l *lab) domainUUIDs() string {
	l.t.Helper()
	out := labtest.Virsh(l.t, "list", "--all", "--uuid")
	return strings.Join(strings.Fields(out), " ")
}

// interruptedUp runs up, sends it SIGINT when a line of its log holds
// line, and returns what it logged; it fails the test if up ends first.
func (l *lab) interruptedUp(line string) string {
	t := l.t
	t.Helper()
	cmd := l.cmd("up", "--skip", "addons", l.spec)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	sc := bufio.NewScanner(pipe)
	sent := false
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if !sent && strings.Contains(sc.Text(), line) {
			sent = cmd.Process.Signal(os.Interrupt) == nil
		}
	}
	err = cmd.Wait()
	if !sent || err == nil {
		t.Fatalf("up was not interrupted at %q (sent %v, exit %v):\n%s", line, sent, err, log.String())
	}
	if !strings.Contains(log.String(), "interrupted") {
		t.Errorf("the interrupted up does not say so:\n%s", log.String())
	}
	return log.String()
}
