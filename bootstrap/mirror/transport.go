package mirror

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// route is how one registry is reached.
type route struct {
	http.RoundTripper
	plainHTTP bool
}

// scheme is the URL scheme of the registry, for messages.
func (t *route) scheme() string {
	if t.plainHTTP {
		return "http"
	}
	return "https"
}

// nameOptions make ggcr use plain HTTP exactly when the registry allows it.
func (t *route) nameOptions() []name.Option {
	if t.plainHTTP {
		return []name.Option{name.Insecure}
	}
	return nil
}

// transports builds one transport per (plain HTTP, CA file) and reuses it,
// so connections are shared between images.
type transports struct {
	mu   sync.Mutex
	made map[string]*route
}

// get is the transport for a registry reached over plain HTTP or, with
// caFile, over TLS that also trusts that CA. A relative caFile starts at
// dir ("" for the working folder).
func (ts *transports) get(plainHTTP bool, caFile, dir string) (*route, error) {
	if caFile != "" && !filepath.IsAbs(caFile) {
		caFile = filepath.Join(dir, caFile)
	}
	key := fmt.Sprintf("%t %s", plainHTTP, caFile)
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if t, ok := ts.made[key]; ok {
		return t, nil
	}
	base := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		ExpectContinueTimeout: time.Second,
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read the CA file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate: give the CA certificate that signed the registry's", caFile)
		}
		base.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	t := &route{RoundTripper: base, plainHTTP: plainHTTP}
	if !plainHTTP {
		t.RoundTripper = httpsOnly{base}
	}
	if ts.made == nil {
		ts.made = map[string]*route{}
	}
	ts.made[key] = t
	return t, nil
}

// idle is how long a connection may move no byte before it is dropped:
// a stalled registry fails the image instead of hanging the copy.
const idle = 2 * time.Minute

// dial connects with a deadline renewed by every read and write.
func dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return idleConn{c}, nil
}

// idleConn renews its deadline on every read and write.
type idleConn struct{ net.Conn }

func (c idleConn) Read(b []byte) (int, error) {
	c.SetDeadline(time.Now().Add(idle))
	return c.Conn.Read(b)
}

func (c idleConn) Write(b []byte) (int, error) {
	c.SetDeadline(time.Now().Add(idle))
	return c.Conn.Write(b)
}

// httpsOnly refuses plain HTTP. ggcr tries http too for registries on
// private or loopback addresses; a registry not marked plain HTTP must
// not be read unencrypted.
type httpsOnly struct{ inner http.RoundTripper }

func (h httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		return nil, fmt.Errorf("refusing plain HTTP to %s: it is not marked plain HTTP", r.URL.Host)
	}
	return h.inner.RoundTrip(r)
}

// ParseTarget checks a --to value and returns its host[:port]. The target
// is a registry root: host[:port], https://host[:port], or with plainHTTP
// also http://host[:port]; no path, since mirror_all registries hold each
// upstream's repositories under /<upstream host>/ at their root.
func ParseTarget(target string, plainHTTP bool) (string, error) {
	raw := strings.TrimSuffix(target, "/")
	scheme := ""
	if s, rest, ok := strings.Cut(raw, "://"); ok {
		scheme, raw = s, rest
	}
	switch {
	case target == "":
		return "", fmt.Errorf("no target registry: name one such as registry.example:5000")
	case scheme != "" && scheme != "http" && scheme != "https":
		return "", fmt.Errorf("target %q: use host[:port] or https://host[:port]", target)
	case scheme == "http" && !plainHTTP:
		return "", fmt.Errorf("target %q is plain HTTP: add --plain-http to allow it, or serve the registry over https", target)
	case scheme == "https" && plainHTTP:
		return "", fmt.Errorf("target %q is https but --plain-http asks for http: drop one", target)
	case strings.Contains(raw, "/"):
		return "", fmt.Errorf("target %q has a path: name the registry root (host[:port]); images go to /<upstream host>/<repository> under it, the layout mirror_all reads", target)
	}
	u, err := url.Parse("https://" + raw)
	if err != nil || u.Host != raw || u.User != nil || u.Hostname() == "" {
		return "", fmt.Errorf("target %q: use host[:port], such as registry.example:5000", target)
	}
	if _, err := name.NewRegistry(raw); err != nil {
		return "", fmt.Errorf("target %q: %w", target, err)
	}
	return raw, nil
}
