package templates

import (
	"strings"
	"testing"
)

func TestRenderModules(t *testing.T) {
	got, err := Render("modules-load.conf.tmpl", []string{"ip_vs", "br_netfilter"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(got), "\nip_vs\nbr_netfilter\n") {
		t.Errorf("modules file ends wrongly:\n%s", got)
	}
}

func TestRenderUnknown(t *testing.T) {
	if _, err := Render("nope.tmpl", nil); err == nil {
		t.Error("rendering a missing template succeeded")
	}
}
