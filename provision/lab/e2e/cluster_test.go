package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/internal/labtest"
)

// TestMain runs the test in a lab namespace of its own, with a real
// libvirtd, the lab's mirror and registry serving on its gateway.
// Without KPROV_E2E the test skips, and no lab is started for it.
func TestMain(m *testing.M) {
	if os.Getenv(E2EEnv) == "" {
		os.Exit(m.Run())
	}
	labtest.Main(m)
}

const (
	gateway = "10.93.0.1"
	vip     = "10.93.0.240"
	// agnhost is Kubernetes' own e2e test image (built by the lab):
	// netexec answers HTTP with what it saw (/clientip, /header, /dial).
	agnhost = "registry.k8s.io/e2e-test-images/agnhost:2.47"
	kubectl = "/var/lib/kprov/mirror/release/v1.30.14/bin/linux/amd64/kubectl"
)

// The lab's stack, as examples/lab.hcl has it, on this test's network.
const body = `
  kubernetes_version = "1.30.14"
  node_pool "cp" {
    role   = "control-plane"
    vcpu   = 2
    memory = "2GiB"
  }
  node_pool "worker" {
    role   = "worker"
    count  = 2
    vcpu   = 1
    memory = "1536MiB"
  }
  kube_proxy { mode = "ipvs" }
  calico {
    version  = "v3.28.5"
    manifest = "/var/lib/kprov/manifests/calico-v3.28.5-lab.yaml"
  }
  ingress {
    controller              = "traefik"
    version                 = "v3.6.12"
    crds_manifest           = "/var/lib/kprov/manifests/traefik-v3.6.12-crds.yaml"
    rbac_manifest           = "/var/lib/kprov/manifests/traefik-v3.6.12-rbac.yaml"
    external_traffic_policy = "Local"
    addresses               = ["` + vip + `"]
    load_balancer           = "metallb"
    load_balancer_manifest  = "/var/lib/kprov/manifests/metallb-v0.15.2-native-lab.yaml"
  }
  network_policy {
    default_deny_namespaces = ["default"]
    global_default_deny     = true
  }
  kubeadm {
    ignore_preflight_errors = ["HTTPProxyCIDR"]
    controller_manager_extra_args = { "leader-elect" = "false" }
    scheduler_extra_args          = { "leader-elect" = "false" }
    # As examples/lab.hcl: liveness probes with ten minutes of slack.
    patches = {
      "kube-apiserver+strategic.yaml" = <<-EOT
        spec:
          containers:
          - name: kube-apiserver
            livenessProbe: {timeoutSeconds: 60, periodSeconds: 20, failureThreshold: 30}
            startupProbe: {timeoutSeconds: 60, failureThreshold: 60}
        EOT
      "etcd+strategic.yaml" = <<-EOT
        spec:
          containers:
          - name: etcd
            livenessProbe: {timeoutSeconds: 60, periodSeconds: 20, failureThreshold: 30}
            startupProbe: {timeoutSeconds: 60, failureThreshold: 60}
        EOT
    }
  }
  timeouts {
    rollout     = "15m"
    nodes_ready = "15m"
  }
  etcd { disk_check = "warn" }
  artifacts { mirror = "http://` + gateway + `:8080" }
  registries {
    mirror_all = "http://` + gateway + `:5000"
    plain_http = true
  }`

// lab is the test's cluster: its spec, state folder and kubeconfig.
type lab struct {
	t                *testing.T
	bin, spec, state string
	kubeconfig       string
}

// E2EEnv turns the end-to-end test on (make e2e): it takes 30 to 40
// minutes of software emulation and is not yet part of make test.
const E2EEnv = "KPROV_E2E"

func newLab(t *testing.T) *lab { return newLabOf(t, body) }

// newLabOf is newLab with another spec body (the cluster block's inside,
// after the hypervisor, image and network blocks).
func newLabOf(t *testing.T, body string) *lab { return newLabNet(t, body, "") }

// newLabNet is newLabOf with lines added to the spec's network block.
func newLabNet(t *testing.T, body, network string) *lab {
	if os.Getenv(E2EEnv) == "" {
		t.Skipf("the end-to-end test runs with %s=1 (make e2e): 30-40 minutes under emulation", E2EEnv)
	}
	labtest.Need(t)
	for _, f := range []string{"calico-v3.28.5-lab.yaml", "traefik-v3.6.12-crds.yaml", "traefik-v3.6.12-rbac.yaml", "metallb-v0.15.2-native-lab.yaml"} {
		if _, err := os.Stat("/var/lib/kprov/manifests/" + f); err != nil {
			t.Fatalf("%v: provision/lab/manifests.sh writes it (make lab-manifests)", err)
		}
	}
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("%v: make lab-mirror-build builds it", err)
	}
	dir := t.TempDir()
	l := &lab{t: t, bin: filepath.Join(dir, "kprov"), spec: filepath.Join(dir, "e2e.hcl"), state: filepath.Join(dir, "state")}
	build := exec.Command("go", "build", "-o", l.bin, "./cmd/kprov")
	build.Dir = judge.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	pool := "/var/lib/kprov-test/e2e"
	hcl := fmt.Sprintf(`cluster "e2e" {
  hypervisor {
    storage_pool = %q
    accelerator  = "tcg"
    boot_timeout = "10m"
  }
  image { source = %q }
  network {
    mode      = "isolated"
    node_cidr = "10.93.0.0/24"
    mtu       = 1500
    %s
  }
%s
}
`, pool, labtest.Image(t), network, body)
	if err := os.WriteFile(l.spec, []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	labtest.Server(t, "mirror.sh", gateway+":8080")
	labtest.Server(t, "registry.sh", gateway+":5000")
	t.Cleanup(func() {
		if out, err := l.cmd("down", l.spec).CombinedOutput(); err != nil {
			t.Errorf("down at cleanup: %v\n%s", err, out)
		}
		os.RemoveAll(pool)
	})
	return l
}

func (l *lab) cmd(args ...string) *exec.Cmd {
	cmd := exec.Command(l.bin, args...)
	cmd.Env = append(os.Environ(), "KPROV_STATE_DIR="+l.state, "NO_COLOR=1")
	return cmd
}

// kprov runs kprov and fails the test if it fails; it returns stdout and
// stderr.
func (l *lab) kprov(args ...string) (string, string) {
	l.t.Helper()
	var out, errb bytes.Buffer
	cmd := l.cmd(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		l.t.Fatalf("kprov %s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

// kprovErr runs kprov and returns stdout, stderr and how it ended.
func (l *lab) kprovErr(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	cmd := l.cmd(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// node runs a shell command on a node through `kprov ssh`.
func (l *lab) node(name, command string) (string, error) {
	var out bytes.Buffer
	cmd := l.cmd("ssh", l.spec, name, "--", command)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// kubectl runs the lab's kubectl with kprov's kubeconfig; stdin, when
// set, is its input.
func (l *lab) kubectl(stdin string, args ...string) (string, error) {
	cmd := exec.Command(kubectl, append([]string{"--kubeconfig", l.kubeconfig, "--request-timeout=60s"}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

func (l *lab) mustKubectl(stdin string, args ...string) string {
	l.t.Helper()
	out, err := l.kubectl(stdin, args...)
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

// eventually polls check every 5 s for up to limit; it fails the test
// with check's last word if check never passes.
func eventually(t *testing.T, what string, limit time.Duration, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	last := ""
	for i := 0; i < 1000; i++ {
		ok, msg := check()
		if ok {
			return
		}
		last = msg
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Second)
	}
	t.Fatalf("%s: not within %s: %s", what, limit, last)
}

// httpGet fetches url from this namespace (the lab's, where a client of
// the cluster sits) with a short timeout.
func httpGet(url, host string) (string, error) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return "", err
	}
	if host != "" {
		req.Host = host
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		return b.String(), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return b.String(), nil
}

// nodeIPs are the nodes' InternalIP addresses by name.
func (l *lab) nodeIPs() map[string]string {
	l.t.Helper()
	var list struct {
		Items []struct {
			Metadata struct {
				Name        string
				Annotations map[string]string
			}
			Status struct {
				Addresses []struct{ Type, Address string }
			}
		}
	}
	if err := json.Unmarshal([]byte(l.mustKubectl("", "get", "nodes", "-o", "json")), &list); err != nil {
		l.t.Fatal(err)
	}
	ips := map[string]string{}
	for _, n := range list.Items {
		for _, a := range n.Status.Addresses {
			if a.Type == "InternalIP" {
				ips[n.Metadata.Name] = a.Address
			}
		}
		// calico-node's detected address is eth0's.
		if got := n.Metadata.Annotations["projectcalico.org/IPv4Address"]; !strings.HasPrefix(got, ips[n.Metadata.Name]+"/") {
			l.t.Errorf("%s: calico-node detected %q, want eth0's %s/24", n.Metadata.Name, got, ips[n.Metadata.Name])
		}
	}
	return ips
}

var podCIDR = regexp.MustCompile(`^192\.168\.\d+\.\d+$`)
