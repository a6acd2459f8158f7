package remote_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The API server is reached through the node's SSH connection: here an
// HTTP server on the host's loopback (where sshd runs) answers a request
// sent through Node.DialContext, and a port nobody listens on gives an
// error naming the node and the address.
func TestTunnel(t *testing.T) {
	user := needHosts(t)
	l := newLab(t, 1, user, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello from %s, you are %s", r.Host, r.RemoteAddr)
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	n := l.Nodes[0]
	client := &http.Client{Transport: &http.Transport{DialContext: n.DialContext}, Timeout: 10 * time.Second}
	for i := 0; i < 3; i++ { // several connections over the one SSH connection
		resp, err := client.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(string(body), "hello from "+ln.Addr().String()) {
			t.Fatalf("body %q", body)
		}
	}
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	_, err = n.DialContext(ctxT(t, 10*time.Second), "tcp", addr)
	if err == nil || !strings.Contains(err.Error(), "node-10: tunnel to "+addr) {
		t.Fatalf("got %v", err)
	}
	// Without sshd there is no way through, though the server still
	// listens: the requests above went through SSH, not around it.
	l.Hosts[0].Kill()
	if c, err := n.DialContext(ctxT(t, 3*time.Second), "tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatal("a connection got through with sshd killed")
	}
}
