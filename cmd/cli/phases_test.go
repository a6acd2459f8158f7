package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func names(ps []phase) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.name)
	}
	return strings.Join(s, ",")
}

func TestPhaseSelection(t *testing.T) {
	all := []phase{{name: "provision/network"}, {name: "provision/ssh"}, {name: "bootstrap/prepare"}, {name: "kubeadm/init"}, {name: "kubeadm/join"}}
	cases := []struct {
		sel  phaseSelection
		want string
	}{
		{phaseSelection{}, "provision/network,provision/ssh,bootstrap/prepare,kubeadm/init,kubeadm/join"},
		{phaseSelection{skip: []string{"kubeadm"}}, "provision/network,provision/ssh,bootstrap/prepare"},
		{phaseSelection{only: []string{"provision", "kubeadm/init"}}, "provision/network,provision/ssh,kubeadm/init"},
		{phaseSelection{only: []string{"kubeadm/"}, skip: []string{"kubeadm/join"}}, "kubeadm/init"},
	}
	for _, c := range cases {
		got, err := c.sel.apply(all)
		if err != nil || names(got) != c.want {
			t.Errorf("%+v: %s, %v; want %s", c.sel, names(got), err, c.want)
		}
	}
	// "kube" is not a phase prefix: only whole path parts match.
	if _, err := (phaseSelection{skip: []string{"kube"}}).apply(all); err == nil || !strings.Contains(err.Error(), `no phase "kube"; the phases are provision/network`) {
		t.Errorf("unknown phase: %v", err)
	}
}

func TestRunPhasesStopsAndSaysWhere(t *testing.T) {
	var ran []string
	var out bytes.Buffer
	ps := []phase{
		{"a/one", func(context.Context) error { ran = append(ran, "one"); return nil }},
		{"a/two", func(context.Context) error { ran = append(ran, "two"); return errors.New("broken") }},
		{"a/three", func(context.Context) error { ran = append(ran, "three"); return nil }},
	}
	err := runPhases(context.Background(), &out, ps)
	if err == nil || err.Error() != "a/two: broken" || strings.Join(ran, ",") != "one,two" {
		t.Errorf("err %v, ran %v", err, ran)
	}
	if !strings.Contains(out.String(), "✓ a/one (") || !strings.Contains(out.String(), "✗ a/two (") {
		t.Errorf("status lines:\n%s", out.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps[0].run = func(context.Context) error { cancel(); return context.Canceled }
	err = runPhases(ctx, &out, ps)
	if err == nil || !strings.Contains(err.Error(), "interrupted during a/one; run the command again to finish") {
		t.Errorf("interrupted: %v", err)
	}
}

func TestHideVars(t *testing.T) {
	got := strings.Join(hideVars([]string{"up", "-var", "token=s3cret", "--var=pw=hunter2", "-var-file", "x.tfvars", "spec.hcl"}), " ")
	want := "up -var token=… --var=pw=… -var-file x.tfvars spec.hcl"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
