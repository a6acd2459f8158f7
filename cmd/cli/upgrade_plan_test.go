package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
	"github.com/kprov/kprov/provision/virt"
)

// plan shows an upgrade for each existing node whose recorded kubelet is
// older than the spec's version, the first control plane's with upgrade
// apply, and a refused jump as refused.
func TestPlanUpgrades(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	nodes := []plan.Node{
		{Name: "cp-1", Role: spec.RoleControlPlane, Domain: "d-cp-1"},
		{Name: "worker-1", Role: spec.RoleWorker, Domain: "d-worker-1"},
		{Name: "worker-2", Role: spec.RoleWorker, Domain: "d-worker-2"},
		{Name: "worker-3", Role: spec.RoleWorker, Domain: "d-worker-3"},
	}
	changes := []virt.Change{
		{Action: virt.Unchanged, Kind: "domain", Name: "d-cp-1", Node: "cp-1"},
		{Action: virt.Unchanged, Kind: "domain", Name: "d-worker-1", Node: "worker-1"},
		{Action: virt.Unchanged, Kind: "domain", Name: "d-worker-2", Node: "worker-2"},
		{Action: virt.Add, Kind: "domain", Name: "d-worker-3", Node: "worker-3"},
	}
	c := &spec.Cluster{KubernetesVersion: "1.30.14"}
	if ups, err := upgrades(c, nodes, dir, changes); err != nil || len(ups) != 0 {
		t.Fatalf("nothing recorded: %v %v", ups, err)
	}
	v := state.Versions{Cluster: "v1.30.4", Nodes: map[string]string{"cp-1": "v1.30.4", "worker-1": "v1.30.4", "worker-2": "v1.30.14", "worker-3": "v1.30.4"}}
	if err := state.WriteVersions(dir, v); err != nil {
		t.Fatal(err)
	}
	ups, err := upgrades(c, nodes, dir, changes)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range ups {
		if u.Action != virt.Upgrade || u.Kind != "node" {
			t.Errorf("change %+v", u)
		}
		got = append(got, u.Name+": "+strings.Join(u.Details, ""))
	}
	if len(got) != 2 || !strings.Contains(got[0], "cp-1: kubelet v1.30.4 -> v1.30.14 (patch): kubeadm upgrade apply v1.30.14") ||
		!strings.Contains(got[1], "worker-1: kubelet v1.30.4 -> v1.30.14 (patch): kubeadm upgrade node") {
		t.Errorf("upgrades:\n%s", strings.Join(got, "\n"))
	}
	c.KubernetesVersion = "1.32.0"
	ups, _ = upgrades(c, nodes, dir, changes)
	if len(ups) != 3 || !strings.Contains(ups[0].Details[0], `refused: kubernetes_version v1.32.0 is 2 minor versions past the cluster's v1.30.4`) {
		t.Errorf("a two-minor jump: %+v", ups)
	}
}
