// Package download fetches a base image by URL into the user's cache, once:
// checked against the sums the spec (or the lock, or a published checksum
// file) gives, resumed after a cut with an HTTP Range request, and kept
// partial when interrupted so the next run goes on where this one stopped.
package download

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Want is what the downloaded file must hash to. Every sum set is checked.
type Want struct {
	SHA256, SHA512 string
	// SumsURL is a published checksum file (SHA256SUMS, SHA512SUMS);
	// SumsName is the file's name in it (default: the URL's last element).
	SumsURL, SumsName string
}

// Pinned reports whether any sum is set or published.
func (w Want) Pinned() bool { return w.SHA256 != "" || w.SHA512 != "" || w.SumsURL != "" }

// Fetcher downloads into Cache.
type Fetcher struct {
	// Cache is the folder files are kept in ($KPROV_CACHE/images).
	Cache string
	// Client defaults to one with connection and header deadlines (a body
	// may take hours; its reads end with the context).
	Client *http.Client
	// Progress receives a bar (Terminal) or a line every few seconds.
	Progress io.Writer
	Terminal bool
}

// Result is a file in the cache that matches every sum asked for.
type Result struct {
	Path   string
	SHA256 string
	Size   int64
	// Cached is true when nothing was downloaded.
	Cached bool
}

// Get returns the cached copy of rawURL, downloading what is missing. A
// cached file that no longer matches want is downloaded again; a partial
// one is resumed.
func (f *Fetcher) Get(ctx context.Context, rawURL string, want Want) (Result, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Result{}, fmt.Errorf("image %s: not an http(s) URL", rawURL)
	}
	// The cache file is named after the URL's last element, never a
	// path of its own ("..", or a decoded "%2F").
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == ".." || name == "" || strings.ContainsAny(name, `/\`) {
		name = "image"
	}
	if want.SumsURL != "" {
		if want, err = f.published(ctx, want, name); err != nil {
			return Result{}, err
		}
	}
	key := sha256.Sum256([]byte(rawURL))
	dir := filepath.Join(f.Cache, hex.EncodeToString(key[:8]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("image cache %s: %w", f.Cache, err)
	}
	final := filepath.Join(dir, name)
	if r, err := check(final, want); err == nil {
		r.Cached = true
		return r, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		// A changed upstream file or a damaged copy: fetch it again.
		f.logf("image %s: the cached copy does not match (%v): downloading it again", rawURL, err)
		os.Remove(final)
	}
	part := final + ".part"
	if err := f.fetch(ctx, rawURL, part); err != nil {
		return Result{}, err
	}
	r, err := check(part, want)
	if err != nil {
		// Never resume onto bytes that hash wrong.
		os.Remove(part)
		os.Remove(part + ".validator")
		var ce *ChecksumError
		if errors.As(err, &ce) {
			ce.What = "image " + rawURL
		}
		return Result{}, err
	}
	if err := os.Rename(part, final); err != nil {
		return Result{}, err
	}
	os.Remove(part + ".validator")
	r.Path = final
	return r, nil
}

// ChecksumError is a file whose sum is not the expected one.
type ChecksumError struct {
	What, Algorithm, Want, Got, From string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: %s is %s, but %s says %s; the file is not the one pinned (the upstream file changed, or the download was damaged): check the URL and the pin, and update the pin only if you changed the image on purpose",
		e.What, e.Algorithm, e.Got, e.From, e.Want)
}

// check hashes p and compares every sum of want.
func check(p string, want Want) (Result, error) {
	fh, err := os.Open(p)
	if err != nil {
		return Result{}, err
	}
	defer fh.Close()
	s256, s512 := sha256.New(), sha512.New()
	n, err := io.Copy(io.MultiWriter(s256, s512), fh)
	if err != nil {
		return Result{}, err
	}
	got256, got512 := hex.EncodeToString(s256.Sum(nil)), hex.EncodeToString(s512.Sum(nil))
	for _, c := range []struct{ alg, want, got, from string }{
		{"sha256", want.SHA256, got256, "the pin"},
		{"sha512", want.SHA512, got512, "the pin"},
	} {
		if c.want != "" && !strings.EqualFold(c.want, c.got) {
			from := c.from
			if want.SumsURL != "" {
				from = want.SumsURL
			}
			return Result{}, &ChecksumError{What: p, Algorithm: c.alg, Want: strings.ToLower(c.want), Got: c.got, From: from}
		}
	}
	return Result{Path: p, SHA256: got256, Size: n}, nil
}

// fetch downloads rawURL to part, resuming what part already holds.
func (f *Fetcher) fetch(ctx context.Context, rawURL, part string) error {
	fh, err := os.OpenFile(part, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("image cache: %w", err)
	}
	defer fh.Close()
	have, err := fh.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	validator, _ := os.ReadFile(part + ".validator")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		if v := strings.TrimSpace(string(validator)); v != "" {
			req.Header.Set("If-Range", v)
		}
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return f.netError(ctx, rawURL, part, have, err)
	}
	defer resp.Body.Close()
	total := resp.ContentLength
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
		start, size, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			return fmt.Errorf("image %s: the server answered the resume request with range %q, not from byte %d: delete %s and try again", rawURL, resp.Header.Get("Content-Range"), have, part)
		}
		total = size
		f.logf("image %s: resuming at %d MiB of %s", rawURL, have>>20, mib(size))
	case resp.StatusCode == http.StatusOK:
		if have > 0 {
			f.logf("image %s: the server does not resume this file (or it changed): downloading it from the start", rawURL)
		}
		if err := fh.Truncate(0); err != nil {
			return err
		}
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			return err
		}
		have = 0
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
		// The partial file is as long as, or longer than, the server's:
		// start over rather than guess.
		fh.Truncate(0)
		os.Remove(part + ".validator")
		return f.fetch(ctx, rawURL, part)
	default:
		return statusError(rawURL, resp)
	}
	if v := resp.Header.Get("ETag"); v != "" && !strings.HasPrefix(v, "W/") {
		os.WriteFile(part+".validator", []byte(v), 0o644)
	} else if v := resp.Header.Get("Last-Modified"); v != "" {
		os.WriteFile(part+".validator", []byte(v), 0o644)
	}
	if err := roomFor(part, total-have); err != nil {
		return fmt.Errorf("image %s: %w", rawURL, err)
	}
	bar := newProgress(f.Progress, f.Terminal, path.Base(rawURL), have, total)
	n, err := io.Copy(fh, io.TeeReader(resp.Body, bar))
	bar.done(err == nil)
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("image %s: the disk of the cache %s is full after %s: free space there (or point KPROV_CACHE at a larger disk); the next run resumes the download", rawURL, filepath.Dir(part), mib(have+n))
		}
		return f.netError(ctx, rawURL, part, have+n, err)
	}
	if total >= 0 && have+n != total {
		return fmt.Errorf("image %s: the server sent %d of %d bytes; run again to resume", rawURL, have+n, total)
	}
	return fh.Sync()
}

// netError says what a failed transfer means and that it resumes.
func (f *Fetcher) netError(ctx context.Context, rawURL, part string, have int64, err error) error {
	kept := ""
	if have > 0 {
		kept = fmt.Sprintf("; %s kept in %s, the next run resumes from there", mib(have), part)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("image %s: download interrupted%s: %w", rawURL, kept, ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if tlsProblem(err) {
		return fmt.Errorf("image %s: TLS: %v: the server's certificate is not trusted here (a proxy that intercepts TLS needs its CA installed in the system's store); kprov never skips the check", rawURL, err)
	}
	return fmt.Errorf("image %s: %v%s", rawURL, err, kept)
}

func statusError(rawURL string, resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		return fmt.Errorf("image %s: %s: the server has no such file; check image.source (cloud image folders are renamed when releases move)", rawURL, resp.Status)
	case http.StatusUnauthorized, http.StatusForbidden:
		return fmt.Errorf("image %s: %s: the server refuses it; kprov sends no credentials, so use a public URL or download the image and set image.source to its path", rawURL, resp.Status)
	}
	return fmt.Errorf("image %s: %s", rawURL, resp.Status)
}

func (f *Fetcher) client() *http.Client {
	if f.Client != nil {
		return f.Client
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 60 * time.Second
	t.TLSHandshakeTimeout = 30 * time.Second
	return &http.Client{Transport: t}
}

func (f *Fetcher) logf(format string, args ...any) {
	if f.Progress != nil {
		fmt.Fprintf(f.Progress, "  "+format+"\n", args...)
	}
}

// contentRange parses "bytes START-END/SIZE".
func contentRange(v string) (start, size int64, ok bool) {
	var end int64
	if n, err := fmt.Sscanf(v, "bytes %d-%d/%d", &start, &end, &size); err != nil || n != 3 {
		return 0, 0, false
	}
	return start, size, true
}

func mib(n int64) string {
	if n < 0 {
		return "an unknown size"
	}
	return fmt.Sprintf("%d MiB", n>>20)
}
