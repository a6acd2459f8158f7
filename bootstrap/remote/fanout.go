package remote

import (
	"context"
	"sync"
)

// Each runs fn on every node, at most limit at once (all at once when
// limit < 1), and waits for all of them. Every failure is returned, as
// NodeErrors sorted by node; nodes not started before ctx ended fail with
// ctx's error.
func Each[N Node](ctx context.Context, nodes []N, limit int, fn func(context.Context, N) error) error {
	if limit < 1 || limit > len(nodes) {
		limit = len(nodes)
	}
	sem := make(chan struct{}, max(limit, 1))
	var mu sync.Mutex
	var errs NodeErrors
	fail := func(name string, err error) {
		mu.Lock()
		errs = append(errs, &NodeError{Node: name, Err: err})
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		if ctx.Err() != nil {
			fail(n.Name(), ctx.Err())
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			fail(n.Name(), ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, n); err != nil {
				fail(n.Name(), err)
			}
		}()
	}
	wg.Wait()
	if len(errs) == 0 {
		return nil
	}
	errs.sort()
	return errs
}
