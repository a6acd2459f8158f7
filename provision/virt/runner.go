package virt

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/digitalocean/go-libvirt"

	"github.com/kprov/kprov/provision/plan"
)

// counter counts the calls that change the hypervisor, so a converged
// cluster can be shown to cost zero of them.
type counter struct{ n atomic.Int64 }

// mutate runs fn, a call that changes the hypervisor, and counts it.
func (c *counter) mutate(fn func() error) error {
	c.n.Add(1)
	return fn()
}

// Mutations is how many changing calls have been made.
func (c *counter) Mutations() int64 { return c.n.Load() }

// NodeError is a failure on one node.
type NodeError struct {
	Node string
	Err  error
}

func (e *NodeError) Error() string { return "node " + e.Node + ": " + e.Err.Error() }
func (e *NodeError) Unwrap() error { return e.Err }

// eachNode runs fn on every node, at most parallel at a time, and returns
// every node's error (sorted by node), not just the first.
func eachNode(ctx context.Context, nodes []plan.Node, parallel int, fn func(context.Context, plan.Node) error) error {
	if parallel < 1 {
		parallel = 1
	}
	sem := make(chan struct{}, parallel)
	var mu sync.Mutex
	var errs []*NodeError
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				mu.Lock()
				errs = append(errs, &NodeError{n.Name, ctx.Err()})
				mu.Unlock()
				return
			}
			if err := fn(ctx, n); err != nil {
				mu.Lock()
				errs = append(errs, &NodeError{n.Name, err})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(errs, func(i, j int) bool { return errs[i].Node < errs[j].Node })
	all := make([]error, len(errs))
	for i, e := range errs {
		all[i] = e
	}
	return errors.Join(all...)
}

// notFound reports libvirt's "no such domain, network, pool or volume".
func notFound(err error) bool {
	var e libvirt.Error
	if !errors.As(err, &e) {
		return false
	}
	switch libvirt.ErrorNumber(e.Code) {
	case libvirt.ErrNoDomain, libvirt.ErrNoNetwork, libvirt.ErrNoStoragePool, libvirt.ErrNoStorageVol:
		return true
	}
	return false
}

// wrap names the libvirt object a failed call was about.
func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}
