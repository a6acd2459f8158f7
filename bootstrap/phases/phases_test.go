package phases

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/internal/phase"
	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
	"github.com/kprov/kprov/provision/state"
)

// The names are the --only/--skip interface and ARCHITECTURE.md lists them.
func TestPhaseNames(t *testing.T) {
	b := &Bootstrapper{}
	got := strings.Join(phase.Names(append(b.Phases(), b.AddonPhases()...)), " ")
	want := "bootstrap/prepare bootstrap/etcd-disk bootstrap/binaries bootstrap/images kubeadm/init kubeadm/kubeconfig kubeadm/upgrade kubeadm/join " +
		"addons/dns addons/calico addons/nodes-ready addons/load-balancer addons/ingress addons/policies"
	if got != want {
		t.Errorf("phases:\n got %s\nwant %s", got, want)
	}
}

func TestPinDigests(t *testing.T) {
	specPath := filepath.Join(t.TempDir(), "c.hcl")
	lockPath := lockfile.Path(specPath)
	d1, d2 := "sha256:"+strings.Repeat("a", 64), "sha256:"+strings.Repeat("b", 64)
	imgs := []images.Image{{Ref: "k8s.gcr.io/pause:3.4.1"}, {Ref: "calico/node:v3.11.3"}}
	lockHas := func(ref, want string) {
		t.Helper()
		lock, err := lockfile.Load(lockPath)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := lock.Digest(ref); d != want {
			t.Errorf("lock: %s is %q, want %q", ref, d, want)
		}
	}

	// An image without a digest (not pulled) is left out.
	path, added, err := PinDigests(specPath, imgs, map[string]string{"k8s.gcr.io/pause:3.4.1": d1})
	if err != nil || path != lockPath || strings.Join(added, ",") != "k8s.gcr.io/pause:3.4.1" {
		t.Fatalf("first pin: %s %v %v", path, added, err)
	}
	lockHas("k8s.gcr.io/pause:3.4.1", d1)
	lockHas("calico/node:v3.11.3", "")

	// The same digests again change nothing; a new one replaces the old.
	if _, added, err := PinDigests(specPath, imgs, map[string]string{"k8s.gcr.io/pause:3.4.1": d1}); err != nil || len(added) != 0 {
		t.Errorf("pinned again: %v %v", added, err)
	}
	if _, added, err := PinDigests(specPath, imgs, map[string]string{"k8s.gcr.io/pause:3.4.1": d2}); err != nil || len(added) != 1 {
		t.Errorf("changed digest: %v %v", added, err)
	}
	lockHas("k8s.gcr.io/pause:3.4.1", d2)
}

// Without kubeadm/kubeconfig's file, an addon phase says what to run,
// before any connection.
func TestAddonsNeedKubeconfig(t *testing.T) {
	dir := t.TempDir()
	c := &spec.Cluster{Name: "lab"}
	b := &Bootstrapper{o: Options{StateDir: dir, Cluster: c, Nodes: []plan.Node{{Name: "lab-cp-1", Role: spec.RoleControlPlane}}}}
	var nodesReady phase.Phase
	for _, p := range b.AddonPhases() {
		if p.Name == "addons/nodes-ready" {
			nodesReady = p
		}
	}
	err := nodesReady.Run(context.Background())
	want := "no admin kubeconfig at " + filepath.Join(dir, state.KubeconfigFile) + ": run kprov up (kubeadm/init and kubeadm/kubeconfig) first"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, state.KubeconfigFile), []byte("kc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadKubeconfig(dir); err != nil || string(data) != "kc" {
		t.Errorf("ReadKubeconfig: %q %v", data, err)
	}
}

// An etcd disk check that is off touches no node.
func TestEtcdDiskOff(t *testing.T) {
	c := &spec.Cluster{Etcd: &spec.Etcd{DiskCheck: "off"}}
	b := &Bootstrapper{o: Options{Cluster: c, Nodes: []plan.Node{{Name: "cp", Role: spec.RoleControlPlane}}}}
	if err := b.etcdDisk(context.Background()); err != nil {
		t.Errorf("etcd disk check off: %v", err)
	}
}

func TestHostOf(t *testing.T) {
	for raw, want := range map[string]string{
		"https://dl.k8s.io/release/v1.30.0/bin/linux/amd64/kubeadm": "dl.k8s.io",
		"http://10.77.0.1:8080/k8s":                                 "10.77.0.1:8080",
		"/srv/binaries":                                             "/srv/binaries",
	} {
		if got := hostOf(raw); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", raw, got, want)
		}
	}
}
