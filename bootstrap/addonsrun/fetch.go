package addonsrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/kprov/kprov/bootstrap/addons"
)

// MaxManifest bounds a manifest: current Calico is under 1 MiB.
const MaxManifest = 32 << 20

// SumError says a manifest is not the one pinned.
type SumError struct {
	Source, Want, Got, Origin string
}

func (e *SumError) Error() string {
	return fmt.Sprintf("%s: sha256 is %s but the %s pins %s: nothing was applied. If the new manifest is intended, update the pin; else find out why the source changed",
		e.Source, e.Got, e.Origin, e.Want)
}

// Fetch reads a manifest from an http(s) URL or a local path (relative to
// dir, the spec's folder) and returns it with its sha256. When want is set
// the content must match it.
func Fetch(ctx context.Context, source, dir, want, origin string) (addons.Manifest, string, error) {
	var data []byte
	var err error
	if IsURL(source) {
		data, err = get(ctx, source)
	} else {
		path := source
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		data, err = readLimited(path)
	}
	if err != nil {
		return addons.Manifest{}, "", err
	}
	sum := sha256.Sum256(data)
	got := hex.EncodeToString(sum[:])
	if want != "" && want != got {
		return addons.Manifest{}, got, &SumError{Source: source, Want: want, Got: got, Origin: origin}
	}
	return addons.Manifest{Source: source, Data: data}, got, nil
}

// IsURL reports whether a manifest source is an http(s) URL, not a local
// path.
func IsURL(source string) bool {
	u, err := url.Parse(source)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	return limited(path, f)
}

func limited(name string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxManifest+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(data) > MaxManifest {
		return nil, fmt.Errorf("%s: larger than %d MiB: not a manifest", name, MaxManifest>>20)
	}
	return data, nil
}

func get(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download manifest: %w (no network? set the manifest to a local copy)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return limited(u, resp.Body)
}
