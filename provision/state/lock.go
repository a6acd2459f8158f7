package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// LeaseFile in a state folder is held (flock) while a command changes the
// cluster; it names its holder so a second command can say who.
const LeaseFile = "lock"

// Holder is who holds, or last held, a state folder's lock.
type Holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
}

func (h Holder) String() string {
	if h.PID == 0 {
		return "another process (it recorded no details)"
	}
	return fmt.Sprintf("%q (PID %d, started %s)", h.Command, h.PID, h.Started.UTC().Format(time.RFC3339))
}

// LockedError says another command holds the state folder.
type LockedError struct {
	Dir    string
	Holder Holder
}

func (e *LockedError) Error() string {
	if e.Holder.PID == 0 {
		return fmt.Sprintf("the cluster's state folder %s is in use by %s: wait for it to finish, then run this again", e.Dir, e.Holder)
	}
	since := time.Since(e.Holder.Started).Round(time.Second)
	return fmt.Sprintf("the cluster's state folder %s is in use by %s, %s ago: wait for it to finish, or stop it (kill %d) and run this again",
		e.Dir, e.Holder, since, e.Holder.PID)
}

// Lease is a held lock; Release gives it back.
type Lease struct {
	f *os.File
	// Stale is the holder of a lock its process left behind when it died
	// (killed, crashed): the kernel released it, kprov took it over.
	Stale *Holder
}

// Lock takes the state folder's lock for command (what the user ran) or
// fails at once with a LockedError naming the holder. A lock whose holder
// died is free (flock dies with its process); Lease.Stale then names it.
func Lock(dir, command string) (*Lease, error) {
	if err := ensureDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, LeaseFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			h, _ := readHolder(f)
			return nil, &LockedError{Dir: dir, Holder: h}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	l := &Lease{f: f}
	if h, err := readHolder(f); err == nil && h.PID != 0 {
		l.Stale = &h
	}
	me := Holder{PID: os.Getpid(), Command: command, Started: time.Now().UTC().Truncate(time.Second)}
	data, _ := json.Marshal(me)
	if err := rewrite(f, data); err != nil {
		l.Release()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return l, nil
}

// Release clears the holder and unlocks; safe to call twice.
func (l *Lease) Release() {
	if l == nil || l.f == nil {
		return
	}
	rewrite(l.f, nil)
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

func readHolder(f *os.File) (Holder, error) {
	var h Holder
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, 0)
	if n == 0 {
		return h, err
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(string(buf[:n]))), &h); err != nil {
		return h, err
	}
	return h, nil
}

func rewrite(f *os.File, data []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	return f.Sync()
}
