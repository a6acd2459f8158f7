package virt

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// A phase that fails because libvirt went away is run once more on a new
// connection; changes are counted across both; a phase that fails with
// the connection alive is not repeated.
func TestFakeSessionReconnects(t *testing.T) {
	c := fakeSpec(t, "sess", 1)
	var opened, closed int
	var lines []string
	s := &Session{
		Open: func(context.Context) (*Provisioner, error) {
			opened++
			return fakeProvisioner(t, newFake(), c), nil
		},
		Closed: func(*Provisioner) { closed++ },
		Log:    func(format string, args ...any) { lines = append(lines, format) },
	}
	runs := 0
	phase := s.Phase(func(ctx context.Context, p *Provisioner) error {
		runs++
		if err := p.EnsureNetwork(ctx); err != nil {
			return err
		}
		if runs == 1 {
			f := p.Conn.l.(*fake)
			f.mu.Lock()
			f.closed = true // libvirtd went away
			f.mu.Unlock()
			return errors.New("connection reset")
		}
		return nil
	})
	if err := phase(context.Background()); err != nil {
		t.Fatal(err)
	}
	if runs != 2 || opened != 2 || closed != 1 || len(lines) != 1 || !strings.Contains(lines[0], "lost the connection") {
		t.Errorf("runs %d, opened %d, closed %d, log %q", runs, opened, closed, lines)
	}
	if got := s.Mutations(); got < 4 { // network defined, started, autostart, on each connection
		t.Errorf("mutations across connections: %d", got)
	}
	fail := s.Phase(func(context.Context, *Provisioner) error { runs++; return errors.New("refused") })
	if err := fail(context.Background()); err == nil || runs != 3 {
		t.Errorf("a failure on a live connection: %v after %d runs", err, runs)
	}
	s.Close()
	if s.Provisioner() != nil || closed != 2 {
		t.Errorf("after Close: %v, closed %d", s.Provisioner(), closed)
	}
}
