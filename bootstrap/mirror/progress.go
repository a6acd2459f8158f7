package mirror

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// redraw is how often the live byte count is redrawn at most.
const redraw = 250 * time.Millisecond

// printer writes the per-image lines to out and, on a terminal (live),
// one status line of the bytes moved by the large images in flight,
// cleared before each image line.
type printer struct {
	out, status io.Writer
	mu          sync.Mutex
	moving      map[string]v1.Update
	shown       bool
	drawn       time.Time
}

func newPrinter(out, live io.Writer) *printer {
	return &printer{out: out, status: live, moving: map[string]v1.Update{}}
}

// live reports whether byte progress is shown.
func (p *printer) live() bool { return p.status != nil }

// line prints one image's line.
func (p *printer) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintln(p.out, s)
	p.draw()
}

// track shows updates for the image at target until updates is closed.
func (p *printer) track(target string, updates <-chan v1.Update) {
	for u := range updates {
		if u.Error != nil {
			continue
		}
		p.mu.Lock()
		p.moving[target] = u
		if time.Since(p.drawn) >= redraw {
			p.clear()
			p.draw()
		}
		p.mu.Unlock()
	}
	p.mu.Lock()
	delete(p.moving, target)
	p.clear()
	p.draw()
	p.mu.Unlock()
}

// done clears the status line for good.
func (p *printer) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

// clear erases the status line, if shown. Callers hold mu.
func (p *printer) clear() {
	if p.shown {
		fmt.Fprint(p.status, "\r\x1b[K")
		p.shown = false
	}
}

// draw shows the status line when large images are moving. Callers hold mu.
func (p *printer) draw() {
	if p.status == nil || len(p.moving) == 0 {
		return
	}
	names := make([]string, 0, len(p.moving))
	for n := range p.moving {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		u := p.moving[n]
		parts[i] = fmt.Sprintf("%s %.1f/%.1f MB", short(n), float64(u.Complete)/1e6, float64(u.Total)/1e6)
	}
	fmt.Fprint(p.status, "  copying "+strings.Join(parts, ", "))
	p.shown, p.drawn = true, time.Now()
}

// short is the last path element of a reference: kube-apiserver:v1.30.14.
func short(ref string) string {
	return ref[strings.LastIndex(ref, "/")+1:]
}
