package phase

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func names(ps []Phase) string { return strings.Join(Names(ps), ",") }

func TestSelection(t *testing.T) {
	all := []Phase{{Name: "provision/network"}, {Name: "provision/ssh"}, {Name: "bootstrap/prepare"}, {Name: "kubeadm/init"}, {Name: "kubeadm/join"}}
	cases := []struct {
		sel  Selection
		want string
	}{
		{Selection{}, "provision/network,provision/ssh,bootstrap/prepare,kubeadm/init,kubeadm/join"},
		{Selection{Skip: []string{"kubeadm"}}, "provision/network,provision/ssh,bootstrap/prepare"},
		{Selection{Only: []string{"provision", "kubeadm/init"}}, "provision/network,provision/ssh,kubeadm/init"},
		{Selection{Only: []string{"kubeadm/"}, Skip: []string{"kubeadm/join"}}, "kubeadm/init"},
	}
	for _, c := range cases {
		got, err := c.sel.Apply(all)
		if err != nil || names(got) != c.want {
			t.Errorf("%+v: %s, %v; want %s", c.sel, names(got), err, c.want)
		}
	}
	// "kube" is not a phase prefix: only whole path parts match.
	if _, err := (Selection{Skip: []string{"kube"}}).Apply(all); err == nil || !strings.Contains(err.Error(), `no phase "kube"; the phases are provision/network`) {
		t.Errorf("unknown phase: %v", err)
	}
	if _, err := (Selection{Only: []string{"addons"}}).Apply(all); err == nil || !strings.Contains(err.Error(), `no phase "addons"`) {
		t.Errorf("unknown --only phase: %v", err)
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		name, pattern string
		want          bool
	}{
		{"kubeadm/init", "kubeadm/init", true},
		{"kubeadm/init", "kubeadm", true},
		{"kubeadm/init", "kubeadm/", true},
		{"kubeadm/init", "kube", false},
		{"kubeadm/init", "kubeadm/join", false},
		{"kubeadm", "kubeadm/init", false},
	} {
		if got := Matches(c.name, []string{c.pattern}); got != c.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", c.name, c.pattern, got, c.want)
		}
	}
}

func TestRunStopsAndSaysWhere(t *testing.T) {
	var ran []string
	var out bytes.Buffer
	ps := []Phase{
		{"a/one", func(context.Context) error { ran = append(ran, "one"); return nil }},
		{"a/two", func(context.Context) error { ran = append(ran, "two"); return errors.New("broken") }},
		{"a/three", func(context.Context) error { ran = append(ran, "three"); return nil }},
	}
	err := Run(context.Background(), &out, ps)
	if err == nil || err.Error() != "a/two: broken" || strings.Join(ran, ",") != "one,two" {
		t.Errorf("err %v, ran %v", err, ran)
	}
	if !strings.Contains(out.String(), "✓ a/one (") || !strings.Contains(out.String(), "✗ a/two (") {
		t.Errorf("status lines:\n%s", out.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	ps[0].Run = func(context.Context) error { cancel(); return context.Canceled }
	err = Run(ctx, &out, ps)
	if err == nil || !strings.Contains(err.Error(), "interrupted during a/one; run the command again to finish") {
		t.Errorf("interrupted: %v", err)
	}
	out.Reset()
	ran = nil
	err = Run(ctx, &out, ps[1:])
	if err == nil || !strings.Contains(err.Error(), "interrupted before a/two") || len(ran) != 0 || !strings.Contains(out.String(), "✗ a/two: interrupted\n") {
		t.Errorf("cancelled before: %v, ran %v, out %q", err, ran, out.String())
	}
}
