// Package retry is kprov's one way to wait: an attempt is made again,
// after a pause, until it succeeds, fails for good, its tries are spent or
// its context ends. The pauses are k8s.io/apimachinery's wait.Backoff.
package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Every pauses d between attempts.
func Every(d time.Duration) wait.Backoff { return wait.Backoff{Duration: d} }

// Doubling pauses first, then twice as long each time, up to most.
func Doubling(first, most time.Duration) wait.Backoff {
	return wait.Backoff{Duration: first, Factor: 2, Cap: most, Steps: math.MaxInt32}
}

// ErrTries says every try was spent.
var ErrTries = errors.New("no tries left")

// Error is a retry that gave up: its tries were spent or its context ended.
type Error struct {
	Last  error // the last attempt's error
	Tries int   // the attempts made
	Err   error // ErrTries or the context's error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%v after %d attempts, the last: %v", e.Err, e.Tries, e.Last)
}

func (e *Error) Unwrap() []error { return []error{e.Err, e.Last} }

// Last is the last attempt's error when err is an *Error, else err.
func Last(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e.Last
	}
	return err
}

type stop struct{ err error }

func (s *stop) Error() string { return s.err.Error() }

// Stop marks err as final: Do returns it without another attempt.
// Stop(nil) is nil.
func Stop(err error) error {
	if err == nil {
		return nil
	}
	return &stop{err}
}

// Do calls attempt until it returns nil or Stop(err), tries attempts were
// made (0: no limit) or ctx ends. Each pause, per b, starts when an
// attempt ends; the first attempt is made even if ctx has ended. It
// returns nil, the error given to Stop, or an *Error.
func Do(ctx context.Context, b wait.Backoff, tries int, attempt func(context.Context) error) error {
	var last error
	n := 0
	err := b.DelayFunc().Until(ctx, true, true, func(ctx context.Context) (bool, error) {
		n++
		last = attempt(ctx)
		if s, ok := last.(*stop); ok {
			return false, s
		}
		if last != nil && tries > 0 && n >= tries {
			return false, ErrTries
		}
		return last == nil, nil
	})
	if s, ok := err.(*stop); ok {
		return s.err
	}
	if err == nil {
		return nil
	}
	return &Error{Last: last, Tries: n, Err: err}
}
