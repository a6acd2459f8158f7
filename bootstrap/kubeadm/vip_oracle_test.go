package kubeadm

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/judge"
)

// With several control planes the real kubeadm takes the virtual address
// as the endpoint: it signs the API server's certificate for it and
// writes it into the kubeconfigs.
func TestOracleVIPEndpoint(t *testing.T) {
	var f fixture
	for _, fx := range fixtures {
		if fx.name == "ha130" {
			f = fx
		}
	}
	in := f.input(t)
	vip, ok := in.Cluster.APIVIP()
	if !ok {
		t.Fatal("three control planes and no api_endpoint: no virtual address")
	}
	cfg, err := InitConfig(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := judge.KubeadmInitOutput(t, in.Cluster.KubernetesVersion, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	sans := regexp.MustCompile(`apiserver serving cert is signed for DNS names \[[^\]]*\] and IPs \[([^\]]*)\]`).FindStringSubmatch(out)
	if sans == nil {
		t.Fatalf("kubeadm's dry run does not say what the API server's certificate is signed for:\n%s", out)
	}
	if !strings.Contains(" "+sans[1]+" ", " "+vip.String()+" ") {
		t.Errorf("the API server's certificate is signed for IPs [%s], not the virtual address %s", sans[1], vip)
	}
	if want := "server: https://" + vip.String() + ":6443"; !strings.Contains(out, want) {
		t.Errorf("no kubeconfig in kubeadm's dry run has %q", want)
	}
	for _, n := range in.Nodes[1:] {
		join, err := JoinConfig(in, n)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(join), "apiServerEndpoint: "+vip.String()+":6443") {
			t.Errorf("%s joins through another endpoint than %s:\n%s", n.Name, vip, join)
		}
		if err := judge.KubeadmJoin(t, in.Cluster.KubernetesVersion, join); err != nil {
			t.Errorf("join config of %s rejected: %v", n.Name, err)
		}
	}
}
