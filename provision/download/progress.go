package download

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// every is how often a plain (non-terminal) progress line is printed.
const every = 10 * time.Second

// progress shows a transfer: a bar on a terminal, else a line every ten
// seconds, so logs stay short and a stalled transfer is still visible.
type progress struct {
	w          io.Writer
	bar        *progressbar.ProgressBar
	name       string
	have, size int64
	start      time.Time
	last       time.Time
	startHave  int64
}

// newProgress starts showing a transfer of name that already holds have
// of size bytes (size < 0: unknown). w nil shows nothing.
func newProgress(w io.Writer, terminal bool, name string, have, size int64) *progress {
	p := &progress{w: w, name: name, have: have, size: size, start: time.Now(), startHave: have}
	p.last = p.start
	if w != nil && terminal {
		p.bar = progressbar.NewOptions64(size,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("  "+name),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
		if have > 0 {
			p.bar.Set64(have)
		}
	}
	return p
}

// Write counts n bytes as done.
func (p *progress) Write(b []byte) (int, error) {
	p.have += int64(len(b))
	switch {
	case p.bar != nil:
		p.bar.Add(len(b))
	case p.w != nil && time.Since(p.last) >= every:
		p.last = time.Now()
		fmt.Fprintf(p.w, "  %s: %s\n", p.name, p.line())
	}
	return len(b), nil
}

// done ends the display; ok says whether the transfer completed.
func (p *progress) done(ok bool) {
	if p.w == nil {
		return
	}
	if p.bar != nil {
		if ok {
			p.bar.Finish()
			return
		}
		p.bar.Exit()
		fmt.Fprintln(p.w)
	}
	if ok {
		fmt.Fprintf(p.w, "  %s: %s in %s\n", p.name, mib(p.have), time.Since(p.start).Round(time.Second))
	}
}

// line is "120 MiB of 400 MiB (30%), 8.1 MiB/s".
func (p *progress) line() string {
	s := mib(p.have)
	if p.size > 0 {
		s += fmt.Sprintf(" of %s (%d%%)", mib(p.size), p.have*100/p.size)
	}
	if secs := time.Since(p.start).Seconds(); secs > 0 {
		s += fmt.Sprintf(", %.1f MiB/s", float64(p.have-p.startHave)/secs/(1<<20))
	}
	return s
}

// Reader wraps r to show its progress on w: for uploads of size bytes.
func Reader(r io.Reader, w io.Writer, terminal bool, name string, size int64) (io.Reader, func(ok bool)) {
	p := newProgress(w, terminal, name, 0, size)
	return io.TeeReader(r, p), p.done
}
