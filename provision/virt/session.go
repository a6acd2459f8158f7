package virt

import (
	"context"
	"fmt"
	"time"

	"github.com/kprov/kprov/internal/retry"
)

// reconnectTries bounds the redials after a lost connection, one a
// second: libvirtd takes a few seconds to come back.
const reconnectTries = 60

// Session keeps the provision phases of one run going across lost libvirt
// connections. Every provision phase is an idempotent ensure, so when
// libvirtd goes away under one (restarted, upgraded), Session dials again
// and runs the phase once more.
type Session struct {
	// Open dials libvirt and builds the provisioner: on first use and
	// after a lost connection.
	Open func(context.Context) (*Provisioner, error)
	// Closed, when set, sees each provisioner once its connection closed.
	Closed func(*Provisioner)
	// Log takes the line saying the connection was lost.
	Log func(format string, args ...any)

	p      *Provisioner
	before int64 // changes made over earlier connections
}

// Provisioner is the current provisioner, nil before the first phase.
func (s *Session) Provisioner() *Provisioner { return s.p }

func (s *Session) open(ctx context.Context) error {
	if s.p != nil {
		return nil
	}
	p, err := s.Open(ctx)
	if p != nil && err != nil {
		s.p = p
		s.Close()
	}
	if err != nil {
		return err
	}
	s.p = p
	return nil
}

// Phase runs f with the provisioner, dialling first if needed; when f
// failed because libvirt went away, it dials again (once a second, for a
// minute at most) and runs f once more.
func (s *Session) Phase(f func(context.Context, *Provisioner) error) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := s.open(ctx); err != nil {
			return err
		}
		err := f(ctx, s.p)
		if err == nil || ctx.Err() != nil || s.p.Conn.IsConnected() {
			return err
		}
		if s.Log != nil {
			s.Log("lost the connection to libvirt (%v): connecting again", err)
		}
		s.Close()
		err = retry.Do(ctx, retry.Every(time.Second), reconnectTries, s.open)
		if err != nil {
			return fmt.Errorf("libvirt went away and did not come back within a minute: %w", retry.Last(err))
		}
		return f(ctx, s.p)
	}
}

// Mutations counts the changes made, across connections.
func (s *Session) Mutations() int64 {
	if s.p == nil {
		return s.before
	}
	return s.before + s.p.Mutations()
}

// Close ends the current connection, if any.
func (s *Session) Close() {
	if s.p == nil {
		return
	}
	if s.p.Conn != nil {
		s.p.Conn.Close()
	}
	s.before += s.p.Mutations()
	if s.Closed != nil {
		s.Closed(s.p)
	}
	s.p = nil
}
