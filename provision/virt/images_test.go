package virt_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/lockfile"
	"github.com/kprov/kprov/bootstrap/registry"
	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/internal/labtest"
)

// Every image of the lab's stack (kubeadm 1.30's and Calico v3.28's) pulled
// on real nodes through the lab's registry with upstream names; the digests
// pinned in kprov.lock.hcl are the registry's; a second up pulls nothing and
// leaves containerd alone; a changed digest is refused with --locked naming
// image, both digests and node; an unreachable mirror is one clear error.
func TestImagesThroughLabRegistry(t *testing.T) {
	cli := newCLI(t, "pull", "10.89.0.0/24", `
  kubernetes_version = "1.30.14"
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  node_pool "worker" {
    role   = "worker"
    vcpu   = 1
    memory = "1GiB"
  }
  calico {
    version  = "v3.28.5"
    manifest = "/var/lib/kprov/manifests/calico-v3.28.5.yaml"
  }
  etcd { disk_check = "off" }
  artifacts { mirror = "http://10.89.0.1:8080" }
  registries {
    mirror_all = "http://10.89.0.1:5000"
    plain_http = true
  }`)
	if _, err := os.Stat("/var/lib/kprov/manifests/calico-v3.28.5.yaml"); err != nil {
		t.Fatalf("%v: provision/lab/manifests.sh writes it", err)
	}
	labtest.Server(t, "mirror.sh", "10.89.0.1:8080")
	labtest.Server(t, "registry.sh", "10.89.0.1:5000")
	kprov := func(args ...string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		cmd := cli.cmd(args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		t.Logf("kprov %s:\n%s", strings.Join(args, " "), out.String())
		return out.String(), err
	}
	skip := "kubeadm,addons"
	out, err := kprov("up", "--skip", skip, cli.spec)
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	// The set kprov pulls is the one `kprov images` lists.
	listing, err := cli.cmd("images", cli.spec, "-o", "json").Output()
	if err != nil {
		t.Fatalf("kprov images: %v", err)
	}
	var imgs []images.Image
	if err := json.Unmarshal(listing, &imgs); err != nil || len(imgs) < 10 {
		t.Fatalf("kprov images -o json: %v, %d images\n%s", err, len(imgs), listing)
	}
	// Workers leave out the control plane's four static pod images.
	for n, want := range map[string]int{"cp-1": len(imgs), "worker-1": len(images.ForNode(imgs, false))} {
		if !strings.Contains(out, n+": pulled "+plural(want, "image")) {
			t.Errorf("up did not say %s pulled its %d images", n, want)
		}
	}
	if len(images.ForNode(imgs, false)) != len(imgs)-4 {
		t.Errorf("workers pull %d of %d images, want all but kube-apiserver, kube-controller-manager, kube-scheduler and etcd", len(images.ForNode(imgs, false)), len(imgs))
	}
	lock, err := lockfile.Load(lockfile.Path(cli.spec))
	if err != nil {
		t.Fatal(err)
	}
	served := registryDigests(t, "10.89.0.1:5000", imgs)
	for _, img := range imgs {
		d, ok := lock.Digest(img.Ref)
		if !ok || d != served[img.Ref] || d != img.Digest {
			t.Errorf("%s: lock pins %q (images says %q), the registry serves %q", img.Ref, d, img.Digest, served[img.Ref])
		}
	}
	// The nodes hold every image under its upstream name, by that digest.
	mainPID := map[string]string{}
	for _, n := range []string{"cp-1", "worker-1"} {
		js, err := kprov("ssh", cli.spec, n, "--", "sudo", "crictl", "images", "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		for _, img := range images.ForNode(imgs, n == "cp-1") {
			repo := img.Ref[:strings.LastIndex(img.Ref, ":")]
			if !strings.Contains(js, `"`+img.Ref+`"`) || !strings.Contains(js, repo+"@"+served[img.Ref]) {
				t.Errorf("%s: crictl images lacks %s@%s", n, img.Ref, served[img.Ref])
			}
		}
		mainPID[n], _ = kprov("ssh", cli.spec, n, "--", "systemctl", "show", "-p", "MainPID", "--value", "containerd")
	}

	// A second up pulls nothing and does not touch containerd.
	out, err = kprov("up", "--skip", skip, cli.spec)
	if err != nil {
		t.Fatalf("second up: %v", err)
	}
	if strings.Contains(out, ": pulled ") || strings.Contains(out, "containerd:") || strings.Contains(out, "pinned the digest") ||
		!strings.Contains(out, "2 nodes up, 0 changes made") {
		t.Errorf("second up changed something:\n%s", out)
	}
	for _, n := range []string{"cp-1", "worker-1"} {
		if pid, _ := kprov("ssh", cli.spec, n, "--", "systemctl", "show", "-p", "MainPID", "--value", "containerd"); pid != mainPID[n] {
			t.Errorf("%s: containerd restarted by the second up (MainPID %s, then %s)", n, mainPID[n], pid)
		}
	}

	// The lock pins other content for pause than the registry serves (as
	// after the tag was moved at the registry): --locked refuses it.
	pause := ""
	for _, img := range imgs {
		if strings.Contains(img.Ref, "/pause:") {
			pause = img.Ref
		}
	}
	other := "sha256:" + strings.Repeat("0", 64)
	if err := lock.SetDigest(pause, other); err != nil {
		t.Fatal(err)
	}
	if err := lock.Write(lockfile.Path(cli.spec)); err != nil {
		t.Fatal(err)
	}
	out, err = kprov("up", "--locked", "--skip", skip, cli.spec)
	if err == nil {
		t.Fatal("up --locked accepted a changed digest")
	}
	for _, want := range []string{"bootstrap/images", "node cp-1", pause, served[pause], other} {
		if !strings.Contains(out, want) {
			t.Errorf("--locked refusal lacks %q", want)
		}
	}
	// Without --locked the change is recorded, with a warning.
	if out, err = kprov("up", "--skip", skip, cli.spec); err != nil || !strings.Contains(out, pause+" changed") {
		t.Errorf("up without --locked: %v", err)
	}

	// The registry goes away and worker-1 lost an image: one clear error
	// naming node, image and mirror, before kubeadm.
	if _, err := kprov("ssh", cli.spec, "worker-1", "--", "sudo", "crictl", "rmi", pause); err != nil {
		t.Fatal(err)
	}
	regStop := exec.Command("bash", filepath.Join(judge.RepoRoot(t), "provision", "lab", "registry.sh"), "stop")
	regStop.Env = append(os.Environ(), "KPROV_LAB_NETNS="+os.Getenv(labtest.NSEnv))
	if b, err := regStop.CombinedOutput(); err != nil {
		t.Fatalf("registry.sh stop: %v\n%s", err, b)
	}
	out, err = kprov("up", "--skip", "addons", cli.spec)
	if err == nil {
		t.Fatal("up succeeded without its mirror")
	}
	for _, want := range []string{"node worker-1", "cannot pull " + pause + " through the mirror http://10.89.0.1:5000/v2/registry.k8s.io"} {
		if !strings.Contains(out, want) {
			t.Errorf("mirror error lacks %q", want)
		}
	}
	if strings.Contains(out, "kubeadm/init") {
		t.Errorf("kubeadm started although images were missing")
	}
}

var sha256Digest = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// registryDigests asks the registry at addr (mirror_all layout) for the
// digest of each image, with HEAD requests, as containerd resolves tags.
func registryDigests(t *testing.T, addr string, imgs []images.Image) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, img := range imgs {
		d, err := headDigest(addr, img.Ref)
		if err != nil || !sha256Digest.MatchString(d) {
			t.Fatalf("registry %s: %s: %q %v", addr, img.Ref, d, err)
		}
		out[img.Ref] = d
	}
	return out
}

// headDigest is the digest the mirror_all registry at addr serves for ref.
func headDigest(addr, ref string) (string, error) {
	r, err := name.ParseReference(registry.AllRepository(addr, ref), name.Insecure)
	if err != nil {
		return "", err
	}
	d, err := remote.Head(r)
	if err != nil {
		return "", err
	}
	return d.Digest.String(), nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
