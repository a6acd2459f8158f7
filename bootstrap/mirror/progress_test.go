package mirror

import (
	"bytes"
	"context"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// On a terminal the byte count of a large image is one status line,
// erased before each image line and at the end.
func TestPrinterStatusLine(t *testing.T) {
	var term bytes.Buffer
	p := newPrinter(&term, &term)
	updates := make(chan v1.Update, 4)
	updates <- v1.Update{Total: 45_100_000, Complete: 12_000_000}
	close(updates)
	p.track("127.0.0.1:5000/registry.k8s.io/kube-apiserver:v1.30.14", updates)
	if !strings.Contains(term.String(), "  copying kube-apiserver:v1.30.14 12.0/45.1 MB") {
		t.Errorf("no status line: %q", term.String())
	}
	if !strings.HasSuffix(term.String(), "\r\x1b[K") {
		t.Errorf("status line not erased when the image finished: %q", term.String())
	}

	term.Reset()
	p.moving["r/a:1"] = v1.Update{Total: 30e6, Complete: 1e6}
	p.line("[1/2] b:1 already there")
	p.done()
	want := "[1/2] b:1 already there\n  copying a:1 1.0/30.0 MB\r\x1b[K"
	if term.String() != want {
		t.Errorf("terminal got %q, want %q", term.String(), want)
	}

	// Without a terminal, only the lines.
	var out bytes.Buffer
	p = newPrinter(&out, nil)
	p.moving["r/a:1"] = v1.Update{Total: 30e6}
	p.line("x")
	p.done()
	if out.String() != "x\n" || p.live() {
		t.Errorf("no terminal: %q", out.String())
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 MB", 3_200: "3.2 kB", 45_100_000: "45.1 MB", 99_999: "100.0 kB", 100_000: "0.1 MB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// A large image's push feeds the status line and leaves it erased.
func TestPushShowsProgress(t *testing.T) {
	f := newFixture(t, 64<<10)
	var term bytes.Buffer
	c := &copier{host: f.b.host, trans: &transports{}, out: newPrinter(&term, &term)}
	var err error
	if c.dst, err = c.trans.get(true, "", ""); err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Get(f.a.ref(t, "registry.k8s.io/pause:3.9"), f.a.options()...)
	if err != nil {
		t.Fatal(err)
	}
	dst := f.b.ref(t, "registry.k8s.io/pause:3.9")
	if err := c.push(context.Background(), dst, desc, large); err != nil {
		t.Fatal(err)
	}
	if got := f.b.digest(t, "registry.k8s.io/pause:3.9"); got != f.digests[pause] {
		t.Errorf("pushed %q, want %s", got, f.digests[pause])
	}
	if s := term.String(); !strings.Contains(s, "  copying pause:3.9 ") || !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("terminal: %q", s)
	}
}
