package download

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// image is 3 MiB of random bytes served by a loopback server.
type image struct {
	body           []byte
	sha256, sha512 string
}

func newImage(t *testing.T, size int) image {
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	s256, s512 := sha256.Sum256(b), sha512.Sum512(b)
	return image{b, hex.EncodeToString(s256[:]), hex.EncodeToString(s512[:])}
}

// server serves img at /img.qcow2 with Range support, counting requests
// and recording their Range headers; cut, when > 0, ends the first full
// response after that many bytes (a connection cut mid-transfer).
type server struct {
	*httptest.Server
	mu     sync.Mutex
	ranges []string
	cut    int
	// stall, when set, blocks the first response after half the body
	// until the request ends (a transfer the user interrupts).
	stall bool
	// noRange answers every request with the whole file.
	noRange bool
	img     image
	sums    string
}

func newServer(t *testing.T, img image) *server {
	s := &server{img: img}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/SHA512SUMS" {
		fmt.Fprint(w, s.sums)
		return
	}
	if r.URL.Path != "/img.qcow2" {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	first := len(s.ranges) == 1
	cut, stall, noRange := s.cut, s.stall, s.noRange
	s.mu.Unlock()
	if noRange {
		r.Header.Del("Range")
	}
	if first && (cut > 0 || stall) {
		n := cut
		if stall {
			n = len(s.img.body) / 2
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(s.img.body)))
		w.Header().Set("ETag", `"v1"`)
		w.Write(s.img.body[:n])
		w.(http.Flusher).Flush()
		if stall {
			<-r.Context().Done()
		}
		// Returning with less than Content-Length written makes the
		// server close the connection: the client sees a cut.
		return
	}
	w.Header().Set("ETag", `"v1"`)
	http.ServeContent(w, r, "img.qcow2", time.Unix(0, 0), bytes.NewReader(s.img.body))
}

func (s *server) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ranges...)
}

func fetcher(t *testing.T) (*Fetcher, *bytes.Buffer) {
	var log bytes.Buffer
	return &Fetcher{Cache: t.TempDir(), Progress: &log}, &log
}

func TestDownloadOnceThenCached(t *testing.T) {
	img := newImage(t, 3<<20)
	s := newServer(t, img)
	f, log := fetcher(t)
	r, err := f.Get(context.Background(), s.URL+"/img.qcow2", Want{SHA256: img.sha256, SHA512: img.sha512})
	if err != nil {
		t.Fatal(err)
	}
	if r.Cached || r.SHA256 != img.sha256 || r.Size != int64(len(img.body)) {
		t.Fatalf("first Get: %+v, want a fresh download of %d bytes, sha256 %s", r, len(img.body), img.sha256)
	}
	if got, _ := os.ReadFile(r.Path); !bytes.Equal(got, img.body) {
		t.Fatal("cached file differs from the served one")
	}
	if !strings.Contains(log.String(), "img.qcow2: 3 MiB in") {
		t.Errorf("no completion line in the progress output:\n%s", log)
	}
	again, err := f.Get(context.Background(), s.URL+"/img.qcow2", Want{SHA256: img.sha256})
	if err != nil || !again.Cached || again.Path != r.Path {
		t.Fatalf("second Get: %+v, %v; want the cached copy", again, err)
	}
	if n := len(s.seen()); n != 1 {
		t.Errorf("the server saw %d requests, want 1 (the second Get must not download)", n)
	}
}

func TestDownloadResumesAfterCut(t *testing.T) {
	img := newImage(t, 3<<20)
	s := newServer(t, img)
	s.cut = 1 << 20
	f, _ := fetcher(t)
	u := s.URL + "/img.qcow2"
	_, err := f.Get(context.Background(), u, Want{SHA256: img.sha256})
	if err == nil || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("a cut transfer: err = %v, want one that says the next run resumes", err)
	}
	r, err := f.Get(context.Background(), u, Want{SHA256: img.sha256})
	if err != nil {
		t.Fatal(err)
	}
	seen := s.seen()
	if len(seen) != 2 || seen[1] != fmt.Sprintf("bytes=%d-", 1<<20) {
		t.Fatalf("requests' Range headers %q, want a second request from byte %d", seen, 1<<20)
	}
	if got, _ := os.ReadFile(r.Path); !bytes.Equal(got, img.body) {
		t.Fatal("resumed file differs from the served one")
	}
}

func TestDownloadRestartsWithoutRangeSupport(t *testing.T) {
	img := newImage(t, 2<<20)
	s := newServer(t, img)
	s.cut, s.noRange = 1<<20, true
	f, log := fetcher(t)
	u := s.URL + "/img.qcow2"
	f.Get(context.Background(), u, Want{SHA256: img.sha256})
	r, err := f.Get(context.Background(), u, Want{SHA256: img.sha256})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "from the start") {
		t.Errorf("no word that the download started over:\n%s", log)
	}
	if got, _ := os.ReadFile(r.Path); !bytes.Equal(got, img.body) {
		t.Fatal("file differs from the served one (appended a whole body to the partial one?)")
	}
}

func TestDownloadWrongSums(t *testing.T) {
	img := newImage(t, 1<<20)
	s := newServer(t, img)
	other := newImage(t, 10)
	for _, tc := range []struct {
		name string
		want Want
		alg  string
	}{
		{"sha256", Want{SHA256: other.sha256}, "sha256"},
		{"sha512", Want{SHA512: other.sha512}, "sha512"},
		{"second of two", Want{SHA256: img.sha256, SHA512: other.sha512}, "sha512"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, _ := fetcher(t)
			_, err := f.Get(context.Background(), s.URL+"/img.qcow2", tc.want)
			var ce *ChecksumError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a ChecksumError", err)
			}
			wantSum, gotSum := tc.want.SHA256, img.sha256
			if tc.alg == "sha512" {
				wantSum, gotSum = tc.want.SHA512, img.sha512
			}
			for _, s := range []string{tc.alg, wantSum, gotSum, "/img.qcow2"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error lacks %q: %v", s, err)
				}
			}
			if files, _ := filepath.Glob(filepath.Join(f.Cache, "*", "*")); len(files) != 0 {
				t.Errorf("a mismatching download left %q in the cache", files)
			}
		})
	}
}

func TestDownloadPublishedSums(t *testing.T) {
	img := newImage(t, 1<<20)
	s := newServer(t, img)
	s.sums = "# SHA512SUMS\n" + strings.Repeat("0", 128) + "  debian-12-generic-amd64.raw\n" + img.sha512 + "  img.qcow2\n"
	sums := s.URL + "/SHA512SUMS"
	f, _ := fetcher(t)
	if _, err := f.Get(context.Background(), s.URL+"/img.qcow2", Want{SumsURL: sums}); err != nil {
		t.Fatalf("published sum: %v", err)
	}
	_, err := f.Get(context.Background(), s.URL+"/img.qcow2", Want{SumsURL: sums, SumsName: "missing.qcow2"})
	if err == nil || !strings.Contains(err.Error(), "no line for missing.qcow2") || !strings.Contains(err.Error(), "debian-12-generic-amd64.raw") {
		t.Errorf("a name the file lacks: %v; want the names it lists", err)
	}
	_, err = f.Get(context.Background(), s.URL+"/img.qcow2", Want{SumsURL: sums, SumsName: "debian-12-generic-amd64.raw"})
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Algorithm != "sha512" || !strings.Contains(err.Error(), sums) {
		t.Errorf("a published sum that does not match: %v; want a sha512 ChecksumError naming %s", err, sums)
	}
	if _, err := f.Get(context.Background(), s.URL+"/img.qcow2", Want{SumsURL: s.URL + "/nothing"}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("a checksum file that is not there: %v", err)
	}
}

func TestDownloadChangedUpstream(t *testing.T) {
	img := newImage(t, 1<<20)
	s := newServer(t, img)
	f, log := fetcher(t)
	u := s.URL + "/img.qcow2"
	if _, err := f.Get(context.Background(), u, Want{SHA256: img.sha256}); err != nil {
		t.Fatal(err)
	}
	s.img = newImage(t, 1<<20)
	r, err := f.Get(context.Background(), u, Want{SHA256: s.img.sha256})
	if err != nil || r.Cached || r.SHA256 != s.img.sha256 {
		t.Fatalf("a pin that the cached copy no longer matches: %+v, %v; want a new download", r, err)
	}
	if !strings.Contains(log.String(), "downloading it again") {
		t.Errorf("the refresh is not explained:\n%s", log)
	}
}

func TestDownloadErrors(t *testing.T) {
	img := newImage(t, 1024)
	s := newServer(t, img)
	f, _ := fetcher(t)
	_, err := f.Get(context.Background(), s.URL+"/gone.qcow2", Want{})
	if err == nil || !strings.Contains(err.Error(), "404 Not Found") || !strings.Contains(err.Error(), "check image.source") {
		t.Errorf("404: %v", err)
	}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(s.serve))
	defer tlsSrv.Close()
	_, err = f.Get(context.Background(), tlsSrv.URL+"/img.qcow2", Want{})
	if err == nil || !strings.Contains(err.Error(), "TLS") || !strings.Contains(err.Error(), "not trusted") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if _, err := f.Get(context.Background(), "ftp://example.invalid/x", Want{}); err == nil {
		t.Error("an ftp URL was accepted")
	}
}

// Ctrl-C mid-download: the error says so, the partial file stays for the
// next run, which resumes it.
func TestDownloadInterrupted(t *testing.T) {
	img := newImage(t, 4<<20)
	s := newServer(t, img)
	s.stall = true
	f, _ := fetcher(t)
	u := s.URL + "/img.qcow2"
	ctx, cancel := context.WithCancel(context.Background())
	part := ""
	go func() {
		// Cancel once half the body is on disk, within ten seconds.
		for i := 0; i < 1000; i++ {
			if m, _ := filepath.Glob(filepath.Join(f.Cache, "*", "*.part")); len(m) == 1 {
				if st, err := os.Stat(m[0]); err == nil && st.Size() == int64(len(img.body)/2) {
					part = m[0]
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	_, err := f.Get(ctx, u, Want{SHA256: img.sha256})
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "interrupted") || !strings.Contains(err.Error(), "resumes") {
		t.Fatalf("interrupted: %v", err)
	}
	if st, err := os.Stat(part); part == "" || err != nil || st.Size() != int64(len(img.body)/2) {
		t.Fatalf("partial file %q not kept at half the size: %v", part, err)
	}
	if _, err := f.Get(context.Background(), u, Want{SHA256: img.sha256}); err != nil {
		t.Fatal(err)
	}
	if seen := s.seen(); len(seen) != 2 || seen[1] != fmt.Sprintf("bytes=%d-", len(img.body)/2) {
		t.Errorf("Range headers %q: the second run did not resume", seen)
	}
}

// A full disk is refused before downloading when the size is known, and
// explained when it fills mid-way.
func TestDownloadDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts a tmpfs; skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("this test mounts a small tmpfs: run it as root, or go test -short")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "kprov-test", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	img := newImage(t, 2<<20)
	s := newServer(t, img)
	f := &Fetcher{Cache: dir}
	_, err := f.Get(context.Background(), s.URL+"/img.qcow2", Want{})
	if err == nil || !strings.Contains(err.Error(), "free space there") || !strings.Contains(err.Error(), "KPROV_CACHE") {
		t.Errorf("known size, small disk: %v", err)
	}
	// Chunked: no size known in advance.
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(img.body); i += 64 << 10 {
			w.Write(img.body[i : i+64<<10])
			w.(http.Flusher).Flush()
		}
	}))
	defer chunked.Close()
	_, err = f.Get(context.Background(), chunked.URL+"/img.qcow2", Want{})
	if err == nil || !strings.Contains(err.Error(), "is full") || !strings.Contains(err.Error(), "resumes") {
		t.Errorf("disk full mid-way: %v", err)
	}
}

func TestLookup(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, body := range []string{
		sum + "  x.qcow2\n",
		sum + " *x.qcow2\n",
		"# comment\n\n" + sum + "  ./x.qcow2\n",
	} {
		if got, err := Lookup([]byte(body), "x.qcow2"); err != nil || got != sum {
			t.Errorf("Lookup(%q) = %q, %v", body, got, err)
		}
	}
	if _, err := Lookup([]byte("<html>hello</html>"), "x.qcow2"); err == nil || !strings.Contains(err.Error(), "not a checksum file") {
		t.Errorf("an HTML page: %v", err)
	}
	if _, err := Lookup([]byte("abc  x.qcow2\n"), "x.qcow2"); err == nil || !strings.Contains(err.Error(), "not a sha256 or sha512") {
		t.Errorf("a short digest: %v", err)
	}
}

func TestProgressOnTerminal(t *testing.T) {
	var out bytes.Buffer
	r, done := Reader(bytes.NewReader(make([]byte, 5<<20)), &out, true, "up.qcow2", 5<<20)
	buf := make([]byte, 1<<20)
	for {
		if _, err := r.Read(buf); err != nil {
			break
		}
	}
	done(true)
	if !strings.Contains(out.String(), "up.qcow2") || !strings.Contains(out.String(), "100%") {
		t.Errorf("terminal progress shows no bar at 100%%:\n%q", out.String())
	}
}

// The cache file never leaves its folder, whatever the URL's last element.
func TestDownloadNameStaysInCache(t *testing.T) {
	img := newImage(t, 1024)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "x", time.Unix(0, 0), bytes.NewReader(img.body))
	}))
	defer srv.Close()
	f, _ := fetcher(t)
	for _, p := range []string{"/a/..", "/%2E%2E", "/"} {
		r, err := f.Get(context.Background(), srv.URL+p, Want{SHA256: img.sha256})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if filepath.Dir(filepath.Dir(r.Path)) != f.Cache || filepath.Base(r.Path) != "image" {
			t.Errorf("%s: cached at %s, outside %s/<key>/", p, r.Path, f.Cache)
		}
	}
}
