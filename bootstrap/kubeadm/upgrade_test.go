package kubeadm

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/spec"
)

func TestPlanUpgrade(t *testing.T) {
	for _, tc := range []struct {
		from, to, kind string
		err            string // a part of the error, "" for none
	}{
		{"v1.30.14", "1.30.14", "none", ""},
		{"v1.30.4", "1.30.14", "patch", ""},
		{"v1.29.15", "v1.30.4", "minor", ""},
		{"v1.30.14", "1.30.4", "", "older than the cluster's v1.30.14"},
		{"v1.29.15", "1.28.5", "", "cannot downgrade"},
		{"v1.28.5", "1.30.14", "", `"1.29.x", then kubernetes_version = "1.30.14"`},
		{"v1.21.14", "1.24.0", "", "3 minor versions past"},
		{"v1.30.14", "2.0.0", "", "another major version"},
		{"garbage", "1.30.14", "", "the cluster's version"},
	} {
		u, err := PlanUpgrade(tc.from, tc.to)
		if tc.err == "" {
			if err != nil || u.Kind() != tc.kind {
				t.Errorf("%s -> %s: %s, %v; want %s", tc.from, tc.to, u.Kind(), err, tc.kind)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s -> %s: %v, want an error with %q", tc.from, tc.to, err, tc.err)
		}
	}
	var skew *SkewError
	_, err := PlanUpgrade("v1.28.5", "v1.31.2")
	if !errors.As(err, &skew) || strings.Join(skew.Steps, " ") != "1.29.x 1.30.x 1.31.2" {
		t.Errorf("got %v, want a SkewError through 1.29.x 1.30.x 1.31.2", err)
	}
	var down *DowngradeError
	if _, err := PlanUpgrade("v1.30.14", "v1.30.4"); !errors.As(err, &down) {
		t.Errorf("got %v, want a DowngradeError", err)
	}
}

// TestOracleUpgradeArgs has each fixture's real kubeadm parse the upgrade
// commands kprov runs (with --help, which cobra honours only after every
// flag parsed); a flag it does not know fails, as the control shows.
func TestOracleUpgradeArgs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not running the real kubeadm")
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			c := f.cluster()
			if c.Kubeadm == nil {
				c.Kubeadm = &spec.Kubeadm{}
			}
			c.Kubeadm.IgnorePreflightErrors = []string{"NumCPU", "Mem"}
			if c.Kubernetes().Minor() >= 22 {
				c.Kubeadm.Patches = probePatches
			}
			bin := judge.Kubeadm(t, c.KubernetesVersion)
			run := func(args ...string) (string, error) {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				out, err := exec.CommandContext(ctx, bin, append(args, "--help")...).CombinedOutput()
				return string(out), err
			}
			for _, args := range [][]string{UpgradeApplyArgs(c, false), UpgradeApplyArgs(c, true), UpgradeNodeArgs(c)} {
				out, err := run(args...)
				if err != nil || !strings.Contains(out, "Usage:") {
					t.Errorf("kubeadm %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			if out, err := run(append(UpgradeNodeArgs(c), "--no-such-flag")...); err == nil {
				t.Errorf("kubeadm took an unknown flag:\n%s", out)
			}
		})
	}
}

func TestUpgradeArgs(t *testing.T) {
	c := &spec.Cluster{KubernetesVersion: "1.30.14", Kubeadm: &spec.Kubeadm{}}
	c.Kubeadm.IgnorePreflightErrors = []string{"HTTPProxyCIDR", "createjob"}
	c.Kubeadm.Patches = map[string]string{"etcd.yaml": "x"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{UpgradeApplyArgs(c, false), "upgrade apply --yes v1.30.14 --ignore-preflight-errors=HTTPProxyCIDR,createjob --patches " + PatchesDir},
		{UpgradeApplyArgs(c, true), "upgrade apply --yes v1.30.14 --ignore-preflight-errors=HTTPProxyCIDR,createjob,ControlPlaneNodesReady --patches " + PatchesDir},
		{UpgradeNodeArgs(c), "upgrade node --ignore-preflight-errors=HTTPProxyCIDR,createjob --patches " + PatchesDir},
	} {
		if got := strings.Join(tc.args, " "); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
	c.Kubeadm.IgnorePreflightErrors = []string{"all"}
	c.Kubeadm.Patches = nil
	if got := strings.Join(UpgradeApplyArgs(c, true), " "); got != "upgrade apply --yes v1.30.14 --ignore-preflight-errors=all" {
		t.Errorf("with all: %s", got)
	}
}
