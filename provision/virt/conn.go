// Package virt drives libvirt to make the planned nodes exist: network,
// pool, base image, disks, seeds and domains, each an idempotent ensure that
// looks before it acts. Everything it creates is named kprov-<cluster>-...
// and tagged in domain metadata, so it is discovered from libvirt, not from
// local state.
package virt

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/provision/plan"
)

// DefaultSocket is libvirtd's system socket.
const DefaultSocket = "/var/run/libvirt/libvirt-sock"

// Conn is a connection to one libvirt daemon.
type Conn struct {
	l   client
	URI string
	ssh *ssh.Client
	// hops are the ProxyJump hosts' connections, first hop first.
	hops []*ssh.Client
	// streams serialises volume uploads and downloads: go-libvirt
	// deadlocks when two streams share a connection.
	streams sync.Mutex
	// Stall is how long a volume stream may move no data before kprov
	// closes the connection under it (default StreamStall): go-libvirt's
	// calls have no timeout of their own.
	Stall time.Duration
	raw   net.Conn
	// unwatch stops closing the connection when Dial's context ends.
	unwatch func() bool
}

// abort closes the sockets under go-libvirt, whose calls take no context:
// every call in flight then fails at once.
func (c *Conn) abort() {
	if c.raw != nil {
		c.raw.Close()
	}
	c.closeSSH()
}

// StreamStall is the default Conn.Stall. go-libvirt can deadlock at the
// end of a stream: its router holds the callback lock while it hands the
// final packet to a caller that has already stopped receiving and waits
// for that lock (rpc.go, callback and requestStream's deregister).
const StreamStall = 30 * time.Second

// StallError is a volume stream that stopped moving data.
type StallError struct {
	What  string
	After time.Duration
	Moved int64
}

func (e *StallError) Error() string {
	return fmt.Sprintf("%s moved no data for %s (after %d bytes): closed the libvirt connection under it", e.What, e.After, e.Moved)
}

// Upload streams size bytes of r into vol, one stream at a time.
func (c *Conn) Upload(vol libvirt.StorageVol, r io.Reader, size uint64) error {
	c.streams.Lock()
	defer c.streams.Unlock()
	cr := &counting{r: r}
	return c.guard("upload of volume "+vol.Name, cr, func() error { return c.l.StorageVolUpload(vol, cr, 0, size, 0) })
}

// Download streams vol into w, one stream at a time.
func (c *Conn) Download(vol libvirt.StorageVol, w io.Writer) error {
	c.streams.Lock()
	defer c.streams.Unlock()
	cw := &counting{w: w}
	return c.guard("download of volume "+vol.Name, cw, func() error { return c.l.StorageVolDownload(vol, cw, 0, 0, 0) })
}

// ReadVolume copies vol into w: straight from its file when libvirtd runs
// on this host and the file is readable, else through a libvirt stream.
// The file is what the stream would read, without the stream's risks.
func (c *Conn) ReadVolume(vol libvirt.StorageVol, w io.Writer) error {
	if strings.HasPrefix(c.URI, "qemu://") || strings.HasPrefix(c.URI, "qemu:///") {
		if path, err := c.l.StorageVolGetPath(vol); err == nil {
			if f, err := os.Open(path); err == nil {
				defer f.Close()
				_, err := io.Copy(w, f)
				return err
			}
		}
	}
	return c.Download(vol, w)
}

// guard runs a stream and closes the connection when it stalls, which
// makes go-libvirt fail every pending call instead of waiting forever.
func (c *Conn) guard(what string, n *counting, run func() error) error {
	stall := c.Stall
	if stall == 0 {
		stall = StreamStall
	}
	done := make(chan struct{})
	stalled := make(chan int64, 1)
	go func() {
		tick := time.NewTicker(stall / 10)
		defer tick.Stop()
		last, since := int64(-1), time.Now()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				if m := n.n.Load(); m != last {
					last, since = m, time.Now()
				} else if time.Since(since) >= stall {
					stalled <- m
					if c.raw != nil {
						c.raw.Close()
					}
					return
				}
			}
		}
	}()
	err := run()
	close(done)
	select {
	case m := <-stalled:
		return &StallError{What: what, After: stall, Moved: m}
	default:
		return err
	}
}

// counting counts the bytes read from r or written to w.
type counting struct {
	r io.Reader
	w io.Writer
	n atomic.Int64
}

func (c *counting) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(int64(k))
	return k, err
}

func (c *counting) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n.Add(int64(k))
	return k, err
}

// DialOptions say how to reach a remote hypervisor.
type DialOptions struct {
	// KnownHosts is the known_hosts file that pins qemu+ssh hosts' and
	// jump hosts' keys; unset, a host's UserKnownHostsFile from SSHConfig,
	// else ~/.ssh/known_hosts. Unknown or changed keys are refused.
	KnownHosts string
	// Auth logs in to a qemu+ssh host (keys, agent).
	Auth []ssh.AuthMethod
	// Timeout bounds each step of the connection attempt (TCP, each SSH
	// handshake, libvirt's first answer).
	Timeout time.Duration
	// SSHConfig is the ssh_config file whose HostName, User, Port,
	// IdentityFile, UserKnownHostsFile, HostKeyAlias and ProxyJump
	// apply to qemu+ssh hosts (default ~/.ssh/config; missing is empty).
	SSHConfig string
}

// ResolveURI is the URI kprov connects to: LIBVIRT_DEFAULT_URI when the
// spec keeps the default qemu:///system, as virsh does, else the spec's.
func ResolveURI(specURI, envURI string) string {
	if specURI == "qemu:///system" && envURI != "" {
		return envURI
	}
	return specURI
}

// Dial connects to the libvirt daemon at uri: qemu:///system through the
// local socket (?socket=PATH overrides it), qemu+ssh://user@host/system by
// tunnelling the remote socket over SSH with a verified host key. ctx
// bounds the connection's whole life (its end closes the sockets);
// opts.Timeout bounds the connect.
func Dial(ctx context.Context, uri string, opts DialOptions) (*Conn, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, fmt.Errorf("libvirt URI %q: %w", uri, err)
	}
	if opts.Timeout == 0 {
		opts.Timeout = 15 * time.Second
	}
	sock := DefaultSocket
	if s := u.Query().Get("socket"); s != "" {
		sock = s
	}
	c := &Conn{URI: uri}
	var conn net.Conn
	switch u.Scheme {
	case "qemu":
		d := net.Dialer{Timeout: opts.Timeout}
		conn, err = d.DialContext(ctx, "unix", sock)
		if err != nil {
			return nil, &UnreachableError{URI: uri, Err: err, Hint: "is libvirtd running? (systemctl start libvirtd, or `make lab` for the local lab)"}
		}
	case "qemu+ssh":
		conn, err = c.tunnel(ctx, u, sock, opts)
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("libvirt URI %q: kprov speaks qemu:// and qemu+ssh://", uri)
	}
	c.raw = conn
	// The command's context (SIGINT, SIGTERM) ends every libvirt call.
	c.unwatch = context.AfterFunc(ctx, c.abort)
	lv := libvirt.NewWithDialer(dialers.NewAlreadyConnected(conn))
	c.l = lv
	timer := time.AfterFunc(opts.Timeout, c.abort)
	err = lv.ConnectToURI(libvirt.QEMUSystem)
	answered := timer.Stop()
	if err != nil {
		c.Close()
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("connecting to libvirt at %s: %w", uri, ctx.Err())
		case !answered:
			return nil, &UnreachableError{URI: uri, Err: fmt.Errorf("no answer within %s", opts.Timeout), Hint: "something accepted the connection but did not speak libvirt's protocol; check the URI's socket and that libvirtd is not hung"}
		}
		return nil, &UnreachableError{URI: uri, Err: err, Hint: "the socket answered but libvirt refused the connection; check permissions (run as root or in the libvirt group)"}
	}
	return c, nil
}

// Close ends the connection.
func (c *Conn) Close() error {
	if c.unwatch != nil {
		c.unwatch()
	}
	var err error
	if c.l != nil {
		err = c.l.Disconnect()
	}
	c.closeSSH()
	return err
}

// IsConnected reports whether the libvirt connection is still up: false
// once libvirtd went away or the connection was closed under a call.
func (c *Conn) IsConnected() bool { return c.l != nil && c.l.IsConnected() }

// UnreachableError is a libvirt daemon kprov could not talk to.
type UnreachableError struct {
	URI  string
	Err  error
	Hint string
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach libvirt at %s: %v; %s", e.URI, e.Err, e.Hint)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Host reads the daemon's libvirt version and chooses the domain type for
// the spec's accelerator, saying why.
func (c *Conn) Host(accelerator string) (plan.Host, string, error) {
	v, err := c.l.ConnectGetLibVersion()
	if err != nil {
		return plan.Host{}, "", fmt.Errorf("libvirt version: %w", err)
	}
	h := plan.Host{LibvirtVersion: uint32(v)}
	switch accelerator {
	case "tcg":
		h.DomainType = "qemu"
		return h, "qemu (software emulation): the spec says accelerator = \"tcg\"", nil
	case "kvm":
		if ok, why := c.kvmUsable(); !ok {
			return plan.Host{}, "", fmt.Errorf("the spec says accelerator = \"kvm\" but %s; use \"tcg\" or \"auto\"", why)
		}
		h.DomainType = "kvm"
		return h, "kvm: the spec says accelerator = \"kvm\"", nil
	}
	if ok, why := c.kvmUsable(); !ok {
		h.DomainType = "qemu"
		return h, "qemu (software emulation): accelerator auto and " + why, nil
	}
	h.DomainType = "kvm"
	return h, "kvm: accelerator auto and libvirt reports KVM support", nil
}

// kvmUsable asks libvirt's domain capabilities whether KVM domains work.
func (c *Conn) kvmUsable() (bool, string) {
	caps, err := c.l.ConnectGetDomainCapabilities(nil, libvirt.OptString{"x86_64"}, nil, libvirt.OptString{"kvm"}, 0)
	if err != nil {
		return false, "libvirt reports no KVM support (" + strings.TrimSpace(err.Error()) + ")"
	}
	var dc struct {
		Domain string `xml:"domain"`
	}
	if err := xml.Unmarshal([]byte(caps), &dc); err != nil || dc.Domain != "kvm" {
		return false, "libvirt reports no KVM support"
	}
	return true, ""
}
