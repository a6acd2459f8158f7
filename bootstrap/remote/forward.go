package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// forwardDial bounds opening one forwarded connection, reconnecting SSH
// included (Node.DialContext retries for Config.Reconnect).
const forwardDial = time.Minute

// Forward accepts connections on l until ctx ends and carries each to addr
// through dial (a Node's DialContext: its verified SSH connection, which
// connects again after a drop). A connection that cannot be carried is
// closed and passed to report, and Forward goes on listening. When ctx
// ends it closes l and every connection, waits for them and returns nil;
// it returns the error when l fails otherwise.
func Forward(ctx context.Context, l net.Listener, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string, report func(error)) error {
	f := &forward{conns: map[net.Conn]bool{}}
	stop := context.AfterFunc(ctx, func() {
		l.Close()
		f.closeAll()
	})
	defer stop()
	var err error
	for {
		var c net.Conn
		if c, err = l.Accept(); err != nil {
			break
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if err := f.carry(ctx, c, dial, addr); err != nil {
				report(fmt.Errorf("connection from %s: %w", c.RemoteAddr(), err))
			}
		}()
	}
	l.Close()
	f.closeAll()
	f.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	if errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("listener %s closed", l.Addr())
	}
	return err
}

// forward is Forward's open connections.
type forward struct {
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
	closed bool
}

// carry dials addr for c and copies both ways until either side ends.
func (f *forward) carry(ctx context.Context, c net.Conn, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string) error {
	if !f.track(c) {
		c.Close()
		return nil
	}
	defer f.untrack(c)
	dctx, cancel := context.WithTimeout(ctx, forwardDial)
	up, err := dial(dctx, "tcp", addr)
	cancel()
	if err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if !f.track(up) {
		c.Close()
		up.Close()
		return nil
	}
	defer f.untrack(up)
	done := make(chan struct{}, 2)
	for _, p := range [][2]net.Conn{{up, c}, {c, up}} {
		go func(dst, src net.Conn) {
			io.Copy(dst, src)
			// Either side's end ends both.
			dst.Close()
			src.Close()
			done <- struct{}{}
		}(p[0], p[1])
	}
	<-done
	<-done
	return nil
}

// track records an open connection, or refuses it once Forward is ending.
func (f *forward) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = true
	return true
}

func (f *forward) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// closeAll closes every open connection and refuses new ones.
func (f *forward) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
}
