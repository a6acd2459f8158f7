package binaries

import (
	"errors"
	"fmt"
	"strings"

	"github.com/kprov/kprov/bootstrap/lockfile"
)

// Drift is a pin the lock does not record as it is: missing from the lock
// (Locked empty) or with another sum.
type Drift struct {
	Pin    Pin
	Locked string // the lock's sum; empty when the lock has no entry
}

// String says what differs, naming the artifact and both sums.
func (d Drift) String() string {
	p := d.Pin
	if d.Locked == "" {
		return fmt.Sprintf("%s (%s): not in the lock; sha256 %s (%s)", p.Name, p.Source, p.SHA256, p.Origin)
	}
	return fmt.Sprintf("%s (%s): sha256 %s in the lock, %s from the %s", p.Name, p.Source, d.Locked, p.SHA256, p.Origin)
}

// Verify compares resolved pins with the lock. Every pin must have a sum;
// an open pin is an error naming it.
func Verify(l *lockfile.Lock, pins []Pin) ([]Drift, error) {
	var drift []Drift
	var open []string
	for _, p := range pins {
		if p.SHA256 == "" {
			open = append(open, fmt.Sprintf("%s (%s)", p.Name, p.Source))
			continue
		}
		e, ok := l.Get(p.Name, p.Source)
		switch {
		case !ok:
			drift = append(drift, Drift{Pin: p})
		case e.SHA256 != p.SHA256:
			drift = append(drift, Drift{Pin: p, Locked: e.SHA256})
		}
	}
	if len(open) > 0 {
		return nil, fmt.Errorf("no sha256 known for %s: set sha256 in the spec or resolve it first", strings.Join(open, ", "))
	}
	return drift, nil
}

// Mode says what Sync may do to the lock file.
type Mode int

const (
	// Record adds missing entries and updates drifted ones.
	Record Mode = iota
	// Locked refuses any pin missing from the lock or differing from it
	// and never writes the lock (kprov --locked, for CI).
	Locked
)

// Sync checks resolved pins against the lock file at path: created on first
// use, updated in Record mode, enforced in Locked mode. It returns the
// drift it found (and, in Record mode, wrote).
func Sync(path string, pins []Pin, mode Mode) ([]Drift, error) {
	l, err := lockfile.Load(path)
	if err != nil {
		return nil, err
	}
	drift, err := Verify(l, pins)
	if err != nil {
		return nil, err
	}
	if mode == Locked {
		return drift, lockedError(path, drift)
	}
	if len(drift) == 0 {
		return nil, nil
	}
	for _, d := range drift {
		l.Set(d.Pin.Entry())
	}
	return drift, l.Write(path)
}

// lockedError is one error per drifted pin, each saying what to do.
func lockedError(path string, drift []Drift) error {
	var errs []error
	for _, d := range drift {
		p := d.Pin
		if d.Locked == "" {
			errs = append(errs, fmt.Errorf("%s: no entry for %s (%s), whose sha256 is %s (%s): run once without --locked to record it, review the lock and commit it",
				path, p.Name, p.Source, p.SHA256, p.Origin))
			continue
		}
		fix := "run once without --locked to update the lock if the new sum is intended, else find out why the source changed"
		if p.Origin == FromSpec {
			fix = fmt.Sprintf("set the spec's sha256 back to %s, or run once without --locked to record the new pin", d.Locked)
		}
		errs = append(errs, fmt.Errorf("%s: %s (%s) is locked at sha256 %s but the %s gives %s: %s",
			path, p.Name, p.Source, d.Locked, p.Origin, p.SHA256, fix))
	}
	return errors.Join(errs...)
}
