package cli

import (
	"strings"
	"testing"
)

func TestHideVars(t *testing.T) {
	got := strings.Join(hideVars([]string{"up", "-var", "token=s3cret", "--var=pw=hunter2", "-var-file", "x.tfvars", "spec.hcl"}), " ")
	want := "up -var token=… --var=pw=… -var-file x.tfvars spec.hcl"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
