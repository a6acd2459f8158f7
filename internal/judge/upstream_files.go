package judge

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kprov/kprov/provision/cache"
)

// upstreamFile is one faithful upstream copy tests read: its sha256 and,
// when upstream serves it byte for byte, the pinned URL it comes from
// (../shared/upstream/SOURCES.md says where each was taken). Extracts
// from documentation pages have no URL: they come from a folder only.
type upstreamFile struct{ sha256, url string }

const (
	ghRaw         = "https://raw.githubusercontent.com/"
	cloudInit262  = ghRaw + "canonical/cloud-init/0578e3b752afe67d8366300841e1252cb987f91f/"
	ingressNginx  = ghRaw + "kubernetes/ingress-nginx/f1f90ef4954effb122412d9cd2d48e02063038a4/"
	calicoV311Raw = ghRaw + "punitporwal07/kubernetes/176d2125dcc85090bffee2ab15b80f407a27b567/calico-v3.11.yaml"
)

var upstreamFiles = map[string]upstreamFile{
	"calico/v3.11/calico.yaml": {"84fc084f17057161279bfd9ff58b7364b3b616ffbd27195cec691eab65ee4c06", calicoV311Raw},
	"calico/policy-examples/v3.11/kubernetes-policy-demo-default-deny.yaml":   {"b72aa4f006ed24f89b9618acca67bdc46a279194f81d40964c3ed2621e920630", ghRaw + "projectcalico/calico/677299316880c513965c82786b04a927914a1299/v3.11/security/tutorials/kubernetes-policy-demo/policies/default-deny.yaml"},
	"calico/policy-examples/v3.11/globalnetworkpolicy-default-deny.yaml":      {"d3264d0f4be12b681458cf6007469b2f6be22bc89c82283238eb251acea46423", ""},
	"calico/policy-examples/v3.11/kubernetes-networkpolicy-default-deny.yaml": {"42f7b4fdcb5997eda3d432aa66f3e320681c29a58f4c5c36e39056ae7fe3ec3e", ""},
	"kubernetes-docs/networkpolicy/network-policy-default-deny-ingress.yaml":  {"b1dc8df3d5c66b014e1ae5a3ee481666ea8ac669ecece6d3415bdf9ae4ff7c86", ghRaw + "kubernetes/website/5712187312b318c7223635333cee02d5e22cf8ae/content/en/examples/service/networking/network-policy-default-deny-ingress.yaml"},
	"kubernetes-docs/networkpolicy/network-policy-default-deny-egress.yaml":   {"64a0fcf3e711bd4f197c953641b1d7062af5c14a0abd3c2ed0b520c37fb63e01", ghRaw + "kubernetes/website/7a090ad7363dc8f01a2304c43a0fa3d27b25b540/content/en/examples/service/networking/network-policy-default-deny-egress.yaml"},
	"kubernetes-docs/networkpolicy/network-policy-default-deny-all.yaml":      {"3766f060d71c88138d7dcc6bc6d320005ad4f730ffde6e910dd6380cdd86efa0", ghRaw + "kubernetes/website/7a090ad7363dc8f01a2304c43a0fa3d27b25b540/content/en/examples/service/networking/network-policy-default-deny-all.yaml"},
	"kubespray/checksums.yml":                                            {"08a7bf09c4e331a8f77ed52a2d72a87fd5540d62f14ae08cf6de88f491f9ca75", ghRaw + "kubernetes-sigs/kubespray/1c9add48975060f45396b34d8e022c30d7f80dab/roles/kubespray_defaults/vars/main/checksums.yml"},
	"ingress-nginx/v0.30.0/deploy/static/mandatory.yaml":                 {"11ebef783c9053339d073222b306a31168196551d678318528436c6007f55d63", ingressNginx + "deploy/static/mandatory.yaml"},
	"ingress-nginx/v0.30.0/deploy/static/provider/cloud-generic.yaml":    {"8aa688a653c1cb1b60908e358f45db2c88b9cde6ec76a9cee9b109e9438f9595", ingressNginx + "deploy/static/provider/cloud-generic.yaml"},
	"cloud-init/cloudinit/config/schemas/schema-network-config-v2.json":  {"0ad5a7b76e130909f4f6482c010c1765cc7bb8990fbc2b72186a3f2380a1788d", cloudInit262 + "cloudinit/config/schemas/schema-network-config-v2.json"},
	"cloud-init/doc/examples/cloud-config-user-groups.txt":               {"335ae9cfe2e2e88556194a31aabdef45c7317305782736efd2478c54f739ed0a", cloudInit262 + "doc/examples/cloud-config-user-groups.txt"},
	"cloud-init/doc/examples/seed/meta-data":                             {"0ed32df1b1af22b84151514ecf2670c33ecc7351ebd5d576f122b386a7c015ed", cloudInit262 + "doc/examples/seed/meta-data"},
	"cloud-init/doc/examples/seed/user-data":                             {"ca985f261c910b94efe84b02c9005660e509d000fd341af3822c79cd5587442f", cloudInit262 + "doc/examples/seed/user-data"},
	"cloud-init/tests/unittests/net/artifacts/no_matching_mac_v2.yaml":   {"db40a27b97bfaea1b02c66d6aaac5675a176fbc3547cb57352c23fa1825aff0b", cloudInit262 + "tests/unittests/net/artifacts/no_matching_mac_v2.yaml"},
	"cloud-init/tests/unittests/net/artifacts/photon_net_config_v2.yaml": {"68a07561dd9c3d80b153906c29b5258e31e41950ad41ffce8b9c702b79fef34c", cloudInit262 + "tests/unittests/net/artifacts/photon_net_config_v2.yaml"},
	"cloud-init/doc/examples/seed/README":                                {"067e51e0f8d4f498276ae258cac386995e247245893c789ca923c2583f377dfb", cloudInit262 + "doc/examples/seed/README"},
	"cloud-init/doc/rtd/reference/datasources/nocloud.rst":               {"c306117b183d002beb3f0ab2ea82f2d9ca7831b7edcaad587ac640e94821240a", cloudInit262 + "doc/rtd/reference/datasources/nocloud.rst"},
	"cloud-init/extracted-from-nocloud-rst/meta-data":                    {"51c72d57463c49c5a5d9f5214f4e75272bb0748de0b1c642cb6e2170dc2a3ff0", ""},
	"cloud-init/extracted-from-nocloud-rst/network-config":               {"9768c1b4f8836759da10b695caa73350a9e25fe4bb0b5209dccfca7181cd1603", ""},
}

// UpstreamDir is a folder that holds every rel (paths as in
// ../shared/upstream), each checked against its pinned sha256: the folder
// $KPROV_UPSTREAM names, else ../shared/upstream beside the repository,
// else $KPROV_CACHE/upstream (default ~/.cache/kprov/upstream), where a
// missing file is fetched from its pinned upstream URL. A file none of
// them provides fails the test, saying how to provide it.
func UpstreamDir(t testing.TB, rels ...string) string {
	t.Helper()
	dir, fetch := os.Getenv("KPROV_UPSTREAM"), false
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "upstream")
		if _, err := os.Stat(dir); err != nil {
			dir, fetch = upstreamCache(), true
		}
	}
	for _, rel := range rels {
		if err := ensureUpstream(http.DefaultClient, dir, rel, upstreamFiles, fetch); err != nil {
			t.Fatalf("upstream test input %s: %v", rel, err)
		}
	}
	return dir
}

func upstreamCache() string { return cache.Dir("upstream", os.Getenv) }

// ensureUpstream checks dir/rel against its pin, fetching it first when
// fetch is set and it is missing.
func ensureUpstream(c *http.Client, dir, rel string, files map[string]upstreamFile, fetch bool) error {
	f, ok := files[rel]
	if !ok {
		return fmt.Errorf("not in internal/judge's table of pinned upstream files: add its sha256 (and URL) there")
	}
	path := filepath.Join(dir, filepath.FromSlash(rel))
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) && fetch && f.url != "" {
		if b, err = download(c, f.url); err == nil {
			if got := sum(b); got != f.sha256 {
				return fmt.Errorf("%s has sha256 %s, want %s: upstream changed under its pinned commit; nothing was cached", f.url, got, f.sha256)
			}
			if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
				err = os.WriteFile(path, b, 0o644)
			}
		}
	}
	if err != nil {
		how := "clone the team's shared folder beside the repository (../shared/upstream, with SOURCES.md), or set KPROV_UPSTREAM to a folder laid out like it"
		if f.url != "" {
			how += ", or let the tests fetch it from " + f.url + " (needs access to raw.githubusercontent.com)"
		} else {
			how += " (it is an extract from a documentation page: no URL serves it as it is)"
		}
		return fmt.Errorf("%v; %s", err, how)
	}
	if got := sum(b); got != f.sha256 {
		return fmt.Errorf("%s has sha256 %s, want %s: not the faithful copy the tests pin", path, got, f.sha256)
	}
	return nil
}

func download(c *http.Client, url string) ([]byte, error) {
	c2 := *c
	if c2.Timeout == 0 {
		c2.Timeout = time.Minute
	}
	resp, err := c2.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 16<<20))
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
