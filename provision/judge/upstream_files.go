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
	"calico/v3.11/calico.yaml":                                           {"84fc084f17057161279bfd9ff58b7364b3b616ffbd27195cec691eab65ee4c06", calicoV311Raw},
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

func upstreamCache() string {
	base := os.Getenv("KPROV_CACHE")
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			c = os.TempDir()
		}
		base = filepath.Join(c, "kprov")
	}
	return filepath.Join(base, "upstream")
}

// ensureUpstream checks dir/rel against its pin, fetching it first when
// fetch is set and it is missing.
func ensureUpstream(c *http.Client, dir, rel string, files map[string]upstreamFile, fetch bool) error {
	f, ok := files[rel]
	if !ok {
		return fmt.Errorf("not in provision/judge's table of pinned upstream files: add its sha256 (and URL) there")
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
