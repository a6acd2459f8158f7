package remote

import (
	"context"
	"sync"
)

// Each runs fn on every host, at most limit at once (all at once when
// limit < 1), and waits for all of them. Every failure is returned, as
// NodeErrors sorted by node; hosts not started before ctx ended fail with
// ctx's error.
func Each[H Host](ctx context.Context, hosts []H, limit int, fn func(context.Context, H) error) error {
	if limit < 1 || limit > len(hosts) {
		limit = len(hosts)
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
	for _, h := range hosts {
		if ctx.Err() != nil {
			fail(h.Name(), ctx.Err())
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			fail(h.Name(), ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, h); err != nil {
				fail(h.Name(), err)
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
