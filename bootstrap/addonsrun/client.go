// Package addonsrun executes bootstrap/addons' plan: it reads the upstream
// manifests a spec names (Fetch: a file or URL, checked against its pin)
// and puts kprov's addon objects into a cluster with server-side apply
// (field manager "kprov"), in order, and waits for them to work. It needs
// no kubectl: client-go talks to the API server, through an SSH tunnel to
// the control plane when one is given.
package addonsrun

import (
	"context"
	"fmt"
	"net"
	"sync"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// FieldManager owns every field kprov applies.
const FieldManager = "kprov"

// DialFunc opens a connection to the API server (an SSH tunnel).
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Client is a connection to one cluster's API server.
type Client struct {
	Config  *rest.Config
	Dynamic dynamic.Interface
	Mapper  *restmapper.DeferredDiscoveryRESTMapper
	// Timeouts: per request, and for rollouts and CRDs to settle.
	RolloutTimeout time.Duration
	Poll           time.Duration

	warnings *warnings
}

// warnings keeps the API server's warnings (deprecated APIs), each once,
// for kprov to show instead of client-go's log lines.
type warnings struct {
	mu   sync.Mutex
	seen map[string]bool
	new  []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if message == "" || w.seen[message] {
		return
	}
	w.seen[message] = true
	w.new = append(w.new, message)
}

// Warnings returns the API server warnings not returned before.
func (c *Client) Warnings() []string {
	c.warnings.mu.Lock()
	defer c.warnings.mu.Unlock()
	out := c.warnings.new
	c.warnings.new = nil
	return out
}

// FromKubeconfig connects with a kubeconfig; dial, when not nil, carries
// every connection (the server address stays the kubeconfig's, so TLS
// checks the name the certificate was made for).
func FromKubeconfig(kubeconfig []byte, dial DialFunc) (*Client, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	if dial != nil {
		cfg.Dial = dial
	}
	return New(cfg)
}

// New connects with cfg.
func New(cfg *rest.Config) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	cfg.UserAgent = "kprov"
	// Quiet the client's own rate limiter: a manifest is a few dozen
	// objects.
	cfg.QPS, cfg.Burst = 50, 100
	w := &warnings{seen: map[string]bool{}}
	cfg.WarningHandler = w
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{
		Config:         cfg,
		Dynamic:        dyn,
		Mapper:         restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc)),
		RolloutTimeout: 5 * time.Minute,
		Poll:           time.Second,
		warnings:       w,
	}, nil
}
