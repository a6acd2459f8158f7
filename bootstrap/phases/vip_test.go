package phases

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/kprov/kprov/provision/plan"
	"github.com/kprov/kprov/provision/spec"
)

func adminConf(t *testing.T, server string) []byte {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: server}
	cfg.AuthInfos["a"] = &clientcmdapi.AuthInfo{Token: "x"}
	cfg.Contexts["a@c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "a"}
	cfg.CurrentContext = "a@c"
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A running cluster keeps the endpoint kubeadm wrote: a spec that now
// gives another (more control planes, a virtual address) is refused with
// the way to keep the old one.
func TestCheckEndpoint(t *testing.T) {
	three := 3
	c := &spec.Cluster{Name: "x", Network: &spec.Network{NodeCIDR: "10.17.0.0/24"},
		NodePools: []*spec.NodePool{{Name: "cp", Role: spec.RoleControlPlane, Count: &three}}}
	if err := spec.Normalize(c); err != nil {
		t.Fatal(err)
	}
	cp1 := planNode("cp-1", spec.RoleControlPlane)
	cp1.IP = netip.MustParseAddr("10.17.0.50")
	b := &Bootstrapper{o: Options{Cluster: c, Nodes: []plan.Node{cp1}}}
	if err := b.checkEndpoint(adminConf(t, "https://10.17.0.10:6443")); err != nil {
		t.Errorf("the virtual address: %v", err)
	}
	err := b.checkEndpoint(adminConf(t, "https://10.17.0.50:6443"))
	var ee *EndpointError
	if !errors.As(err, &ee) || ee.Have != "10.17.0.50:6443" || ee.Want != "10.17.0.10:6443" {
		t.Fatalf("cp-1's address in admin.conf: %v, want an EndpointError", err)
	}
	if !strings.Contains(err.Error(), `api_endpoint = "10.17.0.50"`) {
		t.Errorf("the error does not say how to keep the endpoint: %v", err)
	}
	// Following the advice makes the spec agree.
	c.Network.APIEndpoint = "10.17.0.50"
	if err := b.checkEndpoint(adminConf(t, "https://10.17.0.50:6443")); err != nil {
		t.Errorf("with api_endpoint set as advised: %v", err)
	}
}
