package virt_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/labtest"
)

// A base image by URL, served from this test's namespace (loopback inside
// it): a 404 and a wrong sum are refused with nothing imported; Ctrl-C
// mid-download ends up at once, keeping the partial file; the next up
// resumes it with a Range request and imports the image; the one after
// uses the cache without a request.
func TestCLIImageByURL(t *testing.T) {
	c := newCLI(t, "url", "10.86.0.0/24", `
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }`)
	img, err := os.ReadFile(labtest.BlankImage(t))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(img)
	var (
		mu     sync.Mutex
		ranges []string
		stall  = true
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/blank.qcow2" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		ranges = append(ranges, r.Header.Get("Range"))
		first := stall
		stall = false
		mu.Unlock()
		w.Header().Set("ETag", `"blank"`)
		if first {
			// Half the image, then nothing until the client goes.
			w.Header().Set("Content-Length", fmt.Sprint(len(img)))
			w.Write(img[:len(img)/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		http.ServeContent(w, r, "blank.qcow2", time.Unix(0, 0), bytes.NewReader(img))
	}))
	defer srv.Close()
	requests := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), ranges...)
	}

	cache := filepath.Join(c.dir, "cache")
	setImage := func(source, sha string) {
		t.Helper()
		b, err := os.ReadFile(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`image \{[^}]*\}`)
		b = re.ReplaceAll(b, []byte(fmt.Sprintf("image {\n    source = %q\n    sha256 = %q\n  }", source, sha)))
		if err := os.WriteFile(c.spec, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	phases := "provision/download,provision/network,provision/pool,provision/image"
	up := func() (string, error) {
		cmd := c.cmd("up", "--only", phases, c.spec)
		cmd.Env = append(cmd.Env, "KPROV_CACHE="+cache)
		var errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &errb, &errb
		err := cmd.Run()
		return errb.String(), err
	}
	noVolume := func(when string) {
		t.Helper()
		if l := labtest.Virsh(t, "pool-list", "--all", "--name"); strings.Contains(l, "kprov-url") {
			if v := labtest.Virsh(t, "vol-list", "kprov-url"); strings.Contains(v, "kprov-url-base") {
				t.Errorf("%s: a base volume was imported:\n%s", when, v)
			}
		}
	}
	good := hex.EncodeToString(sum[:])

	setImage(srv.URL+"/missing.qcow2", good)
	if out, err := up(); err == nil || !strings.Contains(out, "404 Not Found") || !strings.Contains(out, "check image.source") {
		t.Errorf("404: %v\n%s", err, out)
	}
	noVolume("404")

	// Ctrl-C once half the image is in the cache.
	setImage(srv.URL+"/blank.qcow2", good)
	cmd := c.cmd("up", "--only", phases, c.spec)
	cmd.Env = append(cmd.Env, "KPROV_CACHE="+cache)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer watchdog.Stop()
	var part string
	for i := 0; i < 600 && part == ""; i++ {
		if m, _ := filepath.Glob(filepath.Join(cache, "images", "*", "blank.qcow2.part")); len(m) == 1 {
			if st, err := os.Stat(m[0]); err == nil && st.Size() == int64(len(img)/2) {
				part = m[0]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if part == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no half-downloaded file in %s within a minute:\n%s", cache, out.String())
	}
	sent := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	err = cmd.Wait()
	if took := time.Since(sent); err == nil || took > 5*time.Second || !strings.Contains(out.String(), "interrupted") {
		t.Fatalf("Ctrl-C mid-download: %v after %s\n%s", err, took.Round(time.Millisecond), out.String())
	}
	if st, err := os.Stat(part); err != nil || st.Size() != int64(len(img)/2) {
		t.Fatalf("the partial download was not kept: %v", err)
	}
	noVolume("Ctrl-C")

	// A wrong pin: the resumed file is refused, both sums named.
	bad := strings.Repeat("0", 64)
	setImage(srv.URL+"/blank.qcow2", bad)
	msg, err := up()
	if err == nil || !strings.Contains(msg, bad) || !strings.Contains(msg, good) {
		t.Errorf("wrong sha256: %v\n%s", err, msg)
	}
	noVolume("wrong sha256")
	if r := requests(); len(r) != 2 || r[1] != fmt.Sprintf("bytes=%d-", len(img)/2) {
		t.Errorf("Range headers %q: the second download did not resume the first", r)
	}

	// The right pin: downloaded (again from the start: the bad bytes went)
	// and imported.
	setImage(srv.URL+"/blank.qcow2", good)
	if msg, err := up(); err != nil || !strings.Contains(msg, "downloaded to") || !strings.Contains(msg, "✓ provision/image") {
		t.Fatalf("up: %v\n%s", err, msg)
	}
	if v := labtest.Virsh(t, "vol-list", "kprov-url"); !strings.Contains(v, "kprov-url-base") {
		t.Errorf("no base volume after up:\n%s", v)
	}
	n := len(requests())
	if msg, err := up(); err != nil || !strings.Contains(msg, "cached in") {
		t.Fatalf("up again: %v\n%s", err, msg)
	}
	if len(requests()) != n {
		t.Errorf("up with the image cached sent %d requests", len(requests())-n)
	}
}
