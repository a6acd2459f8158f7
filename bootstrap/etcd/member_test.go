package etcd

import (
	"os"
	"strings"
	"testing"
)

// testdata/etcd-v1.30.14.yaml is the manifest kubeadm 1.30.14 wrote on
// the lab's cp-1; testdata/save-v3.5.15.txt is what saveScript printed
// there (etcd 3.5.15's etcdctl and etcdutl).
func TestParseManifestKubeadm(t *testing.T) {
	b, err := os.ReadFile("testdata/etcd-v1.30.14.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest("cp-1", b)
	if err != nil {
		t.Fatal(err)
	}
	want := Member{Node: "cp-1", Name: "cp-1", PeerURL: "https://10.77.0.67:2380", DataDir: "/var/lib/etcd", Image: "registry.k8s.io/etcd:3.5.15-0"}
	if m != want {
		t.Errorf("got %+v\nwant %+v", m, want)
	}
	// Without the flags restore needs, the error names them.
	cut := strings.ReplaceAll(string(b), "--name=cp-1", "--other=x")
	if _, err := ParseManifest("cp-1", []byte(cut)); err == nil || !strings.Contains(err.Error(), "cp-1: etcd's manifest has no container etcd with --name") {
		t.Errorf("manifest without --name: %v", err)
	}
	two := strings.ReplaceAll(string(b), "--initial-advertise-peer-urls=https://10.77.0.67:2380", "--initial-advertise-peer-urls=https://10.77.0.67:2380,https://10.0.0.9:2380")
	if _, err := ParseManifest("cp-1", []byte(two)); err == nil || !strings.Contains(err.Error(), "want one absolute folder and one URL") {
		t.Errorf("two peer URLs: %v", err)
	}
}

func TestInitialCluster(t *testing.T) {
	got := InitialCluster([]Member{{Name: "cp-2", PeerURL: "https://10.0.0.3:2380"}, {Name: "cp-1", PeerURL: "https://10.0.0.2:2380"}})
	if want := "cp-1=https://10.0.0.2:2380,cp-2=https://10.0.0.3:2380"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestParseSave(t *testing.T) {
	b, err := os.ReadFile("testdata/save-v3.5.15.txt")
	if err != nil {
		t.Fatal(err)
	}
	self := Member{Node: "cp-1", Name: "cp-1", PeerURL: "https://10.77.0.67:2380", DataDir: "/var/lib/etcd", Image: "registry.k8s.io/etcd:3.5.15-0"}
	var m Meta
	sum, err := parseSave(string(b), &m, self)
	if err != nil {
		t.Fatal(err)
	}
	if sum != "262174635e71e60b2de11b788178779bf79622596b3d7a197ec5cce05130aeff" || m.Revision != 476 || m.Keys != 485 || m.Hash != 3238684718 {
		t.Errorf("sum %s, meta %+v", sum, m)
	}
	if len(m.Members) != 1 || m.Members[0] != self {
		t.Errorf("members %+v", m.Members)
	}
	// Output without the status (etcdutl failed after the save) is an error.
	before, _, _ := strings.Cut(string(b), statusMark)
	if _, err := parseSave(before, &Meta{}, self); err == nil || !strings.Contains(err.Error(), "no snapshot status") {
		t.Errorf("no status: %v", err)
	}
}
