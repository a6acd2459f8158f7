package addons_test

import (
	"strings"
	"testing"

	"github.com/kprov/kprov/bootstrap/addons"
	"github.com/kprov/kprov/internal/judge"
)

func TestLocalCorefile(t *testing.T) {
	if testing.Short() {
		t.Skip("reads kubeadm's Corefile from the Kubernetes module; skipped with -short")
	}
	for _, version := range []string{"v1.21.14", "v1.30.14", "v1.37.2"} {
		t.Run(version, func(t *testing.T) {
			in := judge.KubeadmCorefile(t, version)
			out, changed := addons.LocalCorefile(in)
			if !changed || strings.Contains(out, "forward") || strings.Contains(out, "max_concurrent") {
				t.Fatalf("forward not removed (changed %v):\n%s", changed, out)
			}
			// Everything else stays, line for line, and the braces balance.
			for _, l := range strings.Split(in, "\n") {
				if !strings.Contains(l, "forward") && !strings.Contains(l, "max_concurrent") && !strings.Contains(out, l) {
					t.Errorf("line %q lost", l)
				}
			}
			if strings.Count(out, "{") != strings.Count(out, "}") || strings.Count(in, "}")-strings.Count(out, "}") != 1 {
				t.Errorf("braces do not balance:\n%s", out)
			}
			if again, changed := addons.LocalCorefile(out); changed || again != out {
				t.Errorf("a second pass changed it:\n%s", again)
			}
		})
	}
	oneLine := ".:53 {\n    forward . /etc/resolv.conf\n    cache 30\n}\n"
	if out, changed := addons.LocalCorefile(oneLine); !changed || out != ".:53 {\n    cache 30\n}\n" {
		t.Errorf("one-line forward: %v %q", changed, out)
	}
	own := ".:53 {\n    forward . 10.0.0.53\n}\n"
	if out, changed := addons.LocalCorefile(own); changed || out != own {
		t.Errorf("the user's own forward was touched: %q", out)
	}
}
