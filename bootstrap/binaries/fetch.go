package binaries

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HTTPFetcher fetches .sha256 files over HTTP(S), bounded in time and size.
type HTTPFetcher struct {
	// Client defaults to one with a 30 s timeout.
	Client *http.Client
}

var _ Fetcher = HTTPFetcher{}

// maxSumFile bounds a .sha256 body: a digest and a file name fit easily.
const maxSumFile = 4096

// Fetch GETs url and returns its body; any status but 200 is an error.
func (h HTTPFetcher) Fetch(ctx context.Context, url string) ([]byte, error) {
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSumFile+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > maxSumFile {
		return nil, fmt.Errorf("GET %s: more than %d bytes: not a sha256 file", url, maxSumFile)
	}
	return body, nil
}
