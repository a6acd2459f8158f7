package retry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// failing is an attempt that fails every time, counting its calls and
// when they started.
type failing struct {
	calls  int
	starts []time.Time
	took   time.Duration // each call's own duration
}

func (f *failing) attempt(context.Context) error {
	f.calls++
	f.starts = append(f.starts, time.Now())
	time.Sleep(f.took)
	return fmt.Errorf("attempt %d failed", f.calls)
}

func (f *failing) gaps() []time.Duration {
	var g []time.Duration
	for i := 1; i < len(f.starts); i++ {
		g = append(g, f.starts[i].Sub(f.starts[i-1]))
	}
	return g
}

func TestTriesBound(t *testing.T) {
	f := &failing{}
	err := Do(context.Background(), Every(time.Millisecond), 3, f.attempt)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v, want an *Error", err)
	}
	if f.calls != 3 || e.Tries != 3 {
		t.Fatalf("%d calls, Error.Tries %d, want 3", f.calls, e.Tries)
	}
	if !errors.Is(err, ErrTries) || Last(err).Error() != "attempt 3 failed" {
		t.Fatalf("got %v (last %v), want ErrTries and the third attempt's error", err, Last(err))
	}
}

func TestSucceedsAfterFailures(t *testing.T) {
	calls := 0
	err := Do(context.Background(), Every(time.Millisecond), 5, func(context.Context) error {
		if calls++; calls < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("got %v after %d calls, want nil after 3", err, calls)
	}
}

func TestStopEndsAtOnce(t *testing.T) {
	final := errors.New("wrong host key")
	calls := 0
	err := Do(context.Background(), Every(time.Millisecond), 5, func(context.Context) error {
		calls++
		return Stop(final)
	})
	if err != final || calls != 1 {
		t.Fatalf("got %v after %d calls, want the stopped error itself after 1", err, calls)
	}
	if Stop(nil) != nil {
		t.Fatal("Stop(nil) is not nil")
	}
}

func TestContextEnds(t *testing.T) {
	t.Run("deadline", func(t *testing.T) {
		// The third attempt outlives the deadline, so the count does not
		// depend on how busy the machine is.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		calls := 0
		start := time.Now()
		err := Do(ctx, Every(time.Millisecond), 0, func(ctx context.Context) error {
			if calls++; calls == 3 {
				<-ctx.Done()
			}
			return fmt.Errorf("attempt %d failed", calls)
		})
		if !errors.Is(err, context.DeadlineExceeded) || calls != 3 {
			t.Fatalf("got %v after %d calls, want the deadline after 3", err, calls)
		}
		if Last(err).Error() != "attempt 3 failed" {
			t.Fatalf("last %v, want attempt 3's error", Last(err))
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("returned after %s", d)
		}
	})
	t.Run("cancelled during a pause", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		f := &failing{}
		start := time.Now()
		err := Do(ctx, Every(time.Hour), 0, f.attempt)
		if !errors.Is(err, context.Canceled) || f.calls != 1 {
			t.Fatalf("got %v after %d calls, want Canceled after 1", err, f.calls)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("returned after %s, not when cancelled", d)
		}
	})
	t.Run("ended before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f := &failing{}
		err := Do(ctx, Every(time.Millisecond), 0, f.attempt)
		if !errors.Is(err, context.Canceled) || f.calls != 1 {
			t.Fatalf("got %v after %d calls, want Canceled after the one attempt always made", err, f.calls)
		}
	})
}

// The pauses double from the first up to the most, then stay there.
func TestDoublingGrowsToItsCap(t *testing.T) {
	want := []time.Duration{10, 20, 40, 40, 40}
	next := Doubling(10, 40).DelayFunc()
	for i, w := range want {
		if got := next(); got != w {
			t.Fatalf("pause %d: %d, want %d", i, got, w)
		}
	}
	ms := time.Millisecond
	f := &failing{}
	err := Do(context.Background(), Doubling(10*ms, 20*ms), 8, f.attempt)
	if !errors.Is(err, ErrTries) {
		t.Fatal(err)
	}
	g := f.gaps()
	if g[0] < 10*ms || g[1] < 20*ms || g[2] < 20*ms {
		t.Fatalf("pauses %v, want at least 10ms, 20ms, 20ms", g)
	}
	var total time.Duration
	for _, d := range g {
		total += d
	}
	// Capped: 10+6*20 = 130ms; doubling without the cap would be 1270ms.
	if total > 800*ms {
		t.Fatalf("pauses %v (%s in all): the cap was not kept", g, total)
	}
}

// A pause starts when an attempt ends, so a slow attempt is not followed
// at once by the next.
func TestPauseAfterAttempt(t *testing.T) {
	ms := time.Millisecond
	f := &failing{took: 40 * ms}
	Do(context.Background(), Every(40*ms), 3, f.attempt)
	for i, g := range f.gaps() {
		if g < 80*ms {
			t.Fatalf("gap %d between starts is %s, want at least the attempt (40ms) plus the pause (40ms)", i, g)
		}
	}
}
