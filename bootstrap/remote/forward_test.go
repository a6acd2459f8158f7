package remote_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kprov/kprov/bootstrap/remote"
)

// Forward carries local connections through the node's SSH connection: an
// HTTP server on the host's loopback answers through it; with sshd gone a
// request fails and the failure is reported naming the node, and once sshd
// is back the next request reconnects. Ending the context closes the
// listener and the open connections within a second.
func TestForward(t *testing.T) {
	user := needHosts(t)
	l := newLab(t, 1, user, func(c *remote.Config) { c.Reconnect = 2 * time.Second })
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello through ssh")
	}), ReadHeaderTimeout: 5 * time.Second}
	target, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(target)
	t.Cleanup(func() { srv.Close() })

	local, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var reports []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- remote.Forward(ctx, local, l.Nodes[0].DialContext, target.Addr().String(), func(err error) {
			mu.Lock()
			reports = append(reports, err.Error())
			mu.Unlock()
		})
	}()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	url := "http://" + local.Addr().String() + "/"
	get := func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "hello through ssh" {
			return fmt.Errorf("body %q", body)
		}
		return nil
	}
	for i := 0; i < 3; i++ {
		if err := get(); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}

	h := l.Hosts[0]
	h.Kill()
	// The first request may meet the dropped connection (EOF) before the
	// node notices and fails to connect again; the report follows the
	// client's close, so it is waited for, within bounds.
	var got string
	for try := 0; try < 3 && !strings.Contains(got, "node node-10: could not connect"); try++ {
		if err := get(); err == nil {
			t.Fatal("a request got through with sshd killed")
		}
		for i := 0; i < 50; i++ {
			mu.Lock()
			got = strings.Join(reports, "\n")
			n := len(reports)
			mu.Unlock()
			if n > try {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !strings.Contains(got, "connection from 127.0.0.1:") || !strings.Contains(got, "node node-10: could not connect") {
		t.Fatalf("reports: %q", got)
	}
	h.Start()
	if err := get(); err != nil {
		t.Fatalf("after sshd came back: %v", err)
	}

	idle, err := net.Dial("tcp", local.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(200 * time.Millisecond) // accepted and carried
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Forward: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Forward still running 2s after its context ended")
	}
	idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("open connection after cancel: read gave %v, want EOF", err)
	}
	if time.Since(start) > time.Second {
		t.Fatalf("ending took %s", time.Since(start))
	}
	if c, err := net.Dial("tcp", local.Addr().String()); err == nil {
		c.Close()
		t.Fatal("still listening after the context ended")
	}
}
