package registry

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/kprov/kprov/provision/spec"
)

// The real Debian containerd is the judge of the rendered files: it loads
// config.toml (config dump shows kprov's settings), and pulls upstream
// image names through the rendered hosts.toml from a test registry.
// containerd runs in a mount namespace where /etc/containerd is the
// rendered folder, and a network namespace of its own holding only
// loopback, where the test registry listens: nothing it does can reach
// another host.
func TestContainerdJudge(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the containerd judge needs root: it starts containerd in private mount and network namespaces")
	}
	bin, err := exec.LookPath("containerd")
	if err != nil {
		t.Fatalf("%v: install Debian's containerd (make deps)", err)
	}
	const pause = "registry.k8s.io/pause:3.9"
	files, err := Containerd(ContainerdInput{SandboxImage: pause})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	etc := filepath.Join(tmp, "etc")
	write(t, etc, files)

	dump, err := exec.Command(bin, "--config", filepath.Join(etc, "config.toml"), "config", "dump").CombinedOutput()
	if err != nil {
		t.Fatalf("containerd config dump refuses config.toml: %v\n%s", err, dump)
	}
	for _, want := range []string{`sandbox_image = "` + pause + `"`, `config_path = "/etc/containerd/certs.d"`, `bin_dir = "/opt/cni/bin"`, "SystemdCgroup = true"} {
		if !strings.Contains(string(dump), want) {
			t.Errorf("containerd config dump lacks %s:\n%s", want, dump)
		}
	}

	d := startContainerd(t, bin, etc)
	reg := serveRegistry(t, d.pid)
	images := cri.NewImageServiceClient(d.conn)

	pull := func(t *testing.T, image string) (*cri.Image, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, err := images.PullImage(ctx, &cri.PullImageRequest{Image: &cri.ImageSpec{Image: image}}); err != nil {
			return nil, err
		}
		st, err := images.ImageStatus(ctx, &cri.ImageStatusRequest{Image: &cri.ImageSpec{Image: image}})
		if err != nil {
			t.Fatal(err)
		}
		if st.Image == nil {
			t.Fatalf("%s pulled, yet containerd has no status for it", image)
		}
		return st.Image, nil
	}
	// mirrored renders c's hosts into the certs.d containerd reads (it
	// reads hosts.toml at every pull), replacing the previous case's.
	mirrored := func(t *testing.T, c *spec.Cluster) {
		t.Helper()
		files, err := Containerd(ContainerdInput{Upstreams: Upstreams(c, []string{pause}), SandboxImage: pause})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(etc, "certs.d")); err != nil {
			t.Fatal(err)
		}
		write(t, etc, files)
	}

	t.Run("mirror_all", func(t *testing.T) {
		digest := reg.push(t, "registry.k8s.io/pause:3.9")
		mirrored(t, &spec.Cluster{Registries: &spec.Registries{MirrorAll: "http://" + reg.addr, PlainHTTP: true}})
		img, err := pull(t, pause)
		if err != nil {
			t.Fatalf("pull %s through mirror_all: %v\ncontainerd log:\n%s", pause, err, d.logSince(0))
		}
		if want := "registry.k8s.io/pause@" + digest; !contains(img.RepoDigests, want) {
			t.Errorf("repo digests %v, want %s", img.RepoDigests, want)
		}
		if !reg.saw(" /v2/registry.k8s.io/pause/manifests/") {
			t.Errorf("the mirror saw no request for the manifest: %v", reg.requests())
		}
	})

	t.Run("docker.io mirror", func(t *testing.T) {
		digest := reg.push(t, "library/busybox:1")
		mirrored(t, &spec.Cluster{Registries: &spec.Registries{Mirrors: []*spec.Mirror{{
			Registry: "docker.io", Endpoints: []string{"http://" + reg.addr}, PlainHTTP: true,
		}}}})
		img, err := pull(t, "busybox:1")
		if err != nil {
			t.Fatalf("pull busybox:1 through the docker.io mirror: %v", err)
		}
		if want := "docker.io/library/busybox@" + digest; !contains(img.RepoDigests, want) {
			t.Errorf("repo digests %v, want %s", img.RepoDigests, want)
		}
		if !reg.saw(" /v2/library/busybox/manifests/1") {
			t.Errorf("the mirror saw no request for library/busybox:1: %v", reg.requests())
		}
	})

	// A mirror on a closed port: the pull fails naming the mirror, and
	// containerd never turns to the upstream (kprov writes the last mirror
	// as server).
	closed := closedPort(t, d.pid)
	t.Run("unreachable mirror", func(t *testing.T) {
		mirrored(t, &spec.Cluster{Registries: &spec.Registries{Mirrors: []*spec.Mirror{{
			Registry: "registry.k8s.io", Endpoints: []string{"http://" + closed}, PlainHTTP: true,
		}}}})
		from := d.logSize()
		_, err := pull(t, "registry.k8s.io/kube-proxy:v1.30.2")
		if err == nil {
			t.Fatal("a pull through a closed mirror succeeded")
		}
		if !strings.Contains(err.Error(), closed) {
			t.Errorf("the error does not name the mirror %s: %v", closed, err)
		}
		if log := d.logSince(from); strings.Contains(log, "host=registry.k8s.io") {
			t.Errorf("containerd tried the upstream itself:\n%s", log)
		}
	})

	// Why kprov writes server: a hosts.toml without one makes containerd
	// 1.6 try the upstream after the mirrors (remotes/docker/config
	// ConfigureHosts fills in the default host). Here the upstream is
	// unreachable: the namespace has no route.
	t.Run("without server containerd goes upstream", func(t *testing.T) {
		dir := filepath.Join(etc, "certs.d", "registry.k8s.io")
		os.RemoveAll(filepath.Join(etc, "certs.d"))
		os.MkdirAll(dir, 0o755)
		doc := fmt.Sprintf("[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", closed)
		if err := os.WriteFile(filepath.Join(dir, "hosts.toml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		from := d.logSize()
		if _, err := pull(t, "registry.k8s.io/kube-proxy:v1.30.2"); err == nil {
			t.Fatal("the pull succeeded")
		}
		if log := d.logSince(from); !strings.Contains(log, "host=registry.k8s.io") {
			t.Errorf("containerd did not try the upstream; kprov's server line may be unneeded:\n%s", log)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// write puts files whose paths start with /etc/containerd under etc.
func write(t *testing.T, etc string, files []File) {
	t.Helper()
	for _, f := range files {
		rel, ok := strings.CutPrefix(f.Path, "/etc/containerd/")
		if !ok {
			t.Fatalf("%s is outside /etc/containerd", f.Path)
		}
		p := filepath.Join(etc, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Content, f.Mode); err != nil {
			t.Fatal(err)
		}
	}
}

// daemon is a containerd started by the test.
type daemon struct {
	pid  int
	conn *grpc.ClientConn
	log  string
}

func (d *daemon) logSize() int64 {
	st, err := os.Stat(d.log)
	if err != nil {
		return 0
	}
	return st.Size()
}

func (d *daemon) logSince(off int64) string {
	b, _ := os.ReadFile(d.log)
	if off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

// startContainerd runs containerd on etc/config.toml with etc bind-mounted
// over /etc/containerd in a private mount namespace, in a network
// namespace with only loopback, its root on a tmpfs of that namespace; it
// is killed by PID when the test ends.
func startContainerd(t *testing.T, bin, etc string) *daemon {
	t.Helper()
	tmp := t.TempDir()
	root, state, sock := filepath.Join(tmp, "root"), filepath.Join(tmp, "state"), filepath.Join(tmp, "containerd.sock")
	for _, d := range []string{root, state} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	logPath := filepath.Join(tmp, "containerd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	// unshare and sh exec: the PID is containerd's.
	script := `set -e; ip link set lo up; mount --bind "$1" /etc/containerd; mount -t tmpfs tmpfs "$2"; ` +
		`exec "$5" --config /etc/containerd/config.toml --root "$2" --state "$3" --address "$4" --log-level debug`
	cmd := exec.Command("unshare", "--mount", "--net", "--propagation", "private", "--", "sh", "-c", script, "sh", etc, root, state, sock, bin)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Should the test binary die before its cleanup, containerd dies too
	// (no thread of this process ends: inNetns moves its threads back).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	d := &daemon{pid: cmd.Process.Pid, log: logPath}
	t.Cleanup(func() {
		syscall.Kill(d.pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(d.pid, syscall.SIGKILL)
			<-exited
		}
	})
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	d.conn = conn
	rt := cri.NewRuntimeServiceClient(conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := rt.Version(ctx, &cri.VersionRequest{})
		cancel()
		if err == nil {
			return d
		}
		select {
		case <-exited:
			t.Fatalf("containerd exited: %s", d.logSince(0))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("containerd's CRI did not answer within 30s: %v\n%s", err, d.logSince(0))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// inNetns runs fn on a thread moved into the network namespace of pid,
// then moves the thread back; sockets fn opens stay in that namespace. A
// thread that cannot move back stays locked and ends with its goroutine.
func inNetns(pid int, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			errc <- err
			return
		}
		defer home.Close()
		target, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		err = fn()
		if unix.Setns(int(home.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

// closedPort is a loopback address in pid's network namespace where
// nothing listens.
func closedPort(t *testing.T, pid int) string {
	t.Helper()
	var addr string
	err := inNetns(pid, func() error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		addr = l.Addr().String()
		return l.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// testRegistry is go-containerregistry's in-memory registry listening on
// loopback in containerd's network namespace, recording the requests that
// come over the network (the test's own pushes do not: they are handed to
// the handler in process).
type testRegistry struct {
	addr    string
	handler http.Handler
	mu      sync.Mutex
	seen    []string
}

func serveRegistry(t *testing.T, pid int) *testRegistry {
	t.Helper()
	r := &testRegistry{handler: ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0)))}
	var l net.Listener
	if err := inNetns(pid, func() (err error) { l, err = net.Listen("tcp", "127.0.0.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.seen = append(r.seen, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		r.handler.ServeHTTP(w, req)
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return r
}

func (r *testRegistry) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string{}, r.seen...)
}

func (r *testRegistry) saw(part string) bool {
	for _, s := range r.requests() {
		if strings.Contains(s, part) {
			return true
		}
	}
	return false
}

// push stores a random linux image under repo:tag and returns its digest.
func (r *testRegistry) push(t *testing.T, repoTag string) string {
	t.Helper()
	img, err := random.Image(2048, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(r.addr+"/"+repoTag, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(inProcess{r.handler})); err != nil {
		t.Fatalf("push %s: %v", repoTag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// inProcess hands requests to a handler without a network.
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body == nil { // a server's handler expects a body, even an empty one
		req.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, req)
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}
