package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/labtest"
)

// upgradeFrom and upgradeTo are the lab's upgrade: a patch upgrade
// (Makefile's UPGRADE_FROM builds the older release's binaries and images).
const (
	upgradeFrom = "1.30.4"
	upgradeTo   = "1.30.14"
)

// An upgrade in place on the lab: a cluster made at 1.30.4 (one control
// plane, one worker; no addons, as Calico does not come up under this
// host's emulation) holding a ConfigMap; kubernetes_version raised to
// 1.30.14: plan shows both nodes as to upgrade (not drifted or replaced);
// up upgrades them while a prober counts failed API requests; then every
// kubelet, the control plane's static pods and kube-proxy are 1.30.14, no
// node is left cordoned or marked, the ConfigMap is there, the VMs are the
// same, and a second up changes nothing.
func TestLabUpgrade(t *testing.T) {
	from := strings.Replace(body, `kubernetes_version = "`+upgradeTo+`"`, `kubernetes_version = "`+upgradeFrom+`"`, 1)
	from = strings.Replace(from, "count  = 2", "count  = 1", 1)
	if from == body {
		t.Fatal("the spec body does not name " + upgradeTo)
	}
	l := newLabOf(t, from)
	start := time.Now()
	_, msg := l.kprov("up", "--skip", "addons", l.spec)
	t.Logf("up at %s: %s\n%s", upgradeFrom, time.Since(start).Round(time.Second), msg)
	kc, _ := l.kprov("kubeconfig", l.spec)
	l.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(l.kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	l.mustKubectl("", "create", "configmap", "e2e-before-upgrade", "--from-literal=made=before")
	versions := func() string {
		return l.mustKubectl("", "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.nodeInfo.kubeletVersion} {end}")
	}
	if got := versions(); strings.Count(got, "=v"+upgradeFrom) != 2 {
		t.Fatalf("nodes before the upgrade: %s", got)
	}
	uuids := l.domainUUIDs()

	spec, err := os.ReadFile(l.spec)
	if err != nil {
		t.Fatal(err)
	}
	to := strings.Replace(string(spec), `kubernetes_version = "`+upgradeFrom+`"`, `kubernetes_version = "`+upgradeTo+`"`, 1)
	if err := os.WriteFile(l.spec, []byte(to), 0o644); err != nil {
		t.Fatal(err)
	}
	plan, _ := l.kprov("plan", l.spec)
	for _, want := range []string{"^ upgrade kubelet v" + upgradeFrom + " -> v" + upgradeTo + " (patch): kubeadm upgrade apply",
		"^ upgrade kubelet v" + upgradeFrom + " -> v" + upgradeTo + " (patch): kubeadm upgrade node", "2 to upgrade"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan does not say %q:\n%s", want, plan)
		}
	}
	if strings.Contains(plan, "drifted") {
		t.Errorf("plan calls a node drifted:\n%s", plan)
	}

	// The prober: one API request every 2 s while up runs.
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
	start = time.Now()
	_, msg = l.kprov("up", "--skip", "addons", l.spec)
	close(stop)
	wg.Wait()
	t.Logf("upgrade %s -> %s: %s; API requests failed %d of %d (first to last failure %ds)\n%s", upgradeFrom, upgradeTo,
		time.Since(start).Round(time.Second), failed.Load(), sent.Load(), lastFail.Load()-firstFail.Load(), msg)
	for _, want := range []string{"kubeadm upgrade apply: control plane v" + upgradeFrom + " -> v" + upgradeTo,
		"cp-1: uncordoned", "worker-1: kubeadm upgrade node", "worker-1: uncordoned"} {
		if !strings.Contains(msg, want) {
			t.Errorf("up did not say %q", want)
		}
	}

	if got := versions(); strings.Count(got, "=v"+upgradeTo) != 2 {
		t.Errorf("nodes after the upgrade: %s", got)
	}
	images := l.mustKubectl("", "get", "pods", "-n", "kube-system", "-o", "jsonpath={range .items[*]}{.spec.containers[0].image} {end}")
	for _, c := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy"} {
		if !strings.Contains(images, c+":v"+upgradeTo) || strings.Contains(images, c+":v"+upgradeFrom) {
			t.Errorf("%s is not (only) at v%s: %s", c, upgradeTo, images)
		}
	}
	cordoned := l.mustKubectl("", "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}:{.spec.unschedulable}:{.metadata.annotations.kprov\\.dev/upgrading-to} {end}")
	if strings.Contains(cordoned, "true") || strings.Contains(cordoned, "v1.") {
		t.Errorf("a node is left cordoned or marked: %s", cordoned)
	}
	if out := l.mustKubectl("", "get", "configmap", "e2e-before-upgrade", "-o", "jsonpath={.data.made}"); out != "before" {
		t.Errorf("the ConfigMap after the upgrade: %q", out)
	}
	if after := l.domainUUIDs(); after != uuids {
		t.Errorf("the VMs were replaced: %s, then %s", uuids, after)
	}
	_, msg = l.kprov("up", "--skip", "addons", l.spec)
	if !strings.Contains(msg, " 0 changes made") {
		t.Errorf("a second up changed something:\n%s", msg)
	}
}

// domainUUIDs are the lab domains' UUIDs, to tell a VM kept from one made
// anew.
func (l *lab) domainUUIDs() string {
	l.t.Helper()
	out := labtest.Virsh(l.t, "list", "--all", "--uuid")
	return strings.Join(strings.Fields(out), " ")
}
