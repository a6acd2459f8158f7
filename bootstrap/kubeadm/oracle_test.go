package kubeadm

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kprov/kprov/internal/judge"
	"github.com/kprov/kprov/provision/plan"
)

// The oracle is the real kubeadm of each fixture's version, run by
// internal/judge.

// etcSnapshot lists /etc/kubernetes on the host, to prove the judge's
// sandbox keeps kubeadm's dry-run files off it.
func etcSnapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir("/etc/kubernetes", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v\n", p, info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestOracleAccepts has the real kubeadm of each fixture's version dry-run
// the init config and validate every join config.
func TestOracleAccepts(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			in := f.input(t)
			version := in.Cluster.KubernetesVersion
			before := etcSnapshot(t)
			b, err := InitConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := judge.KubeadmInit(t, version, b); err != nil {
				t.Fatalf("init config rejected: %v", err)
			}
			first, _ := plan.FirstControlPlane(in.Nodes)
			for _, n := range in.Nodes {
				if n.Name == first.Name {
					continue
				}
				b, err := JoinConfig(in, n)
				if err != nil {
					t.Fatal(err)
				}
				if err := judge.KubeadmJoin(t, version, b); err != nil {
					t.Errorf("join config of %s rejected: %v", n.Name, err)
				}
			}
			if after := etcSnapshot(t); after != before {
				t.Errorf("/etc/kubernetes changed on the host:\nbefore:\n%safter:\n%s", before, after)
			}
		})
	}
}

// TestOracleRejects feeds broken files to the same judge and expects it to
// fail: the judge must be able to say no.
func TestOracleRejects(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			in := f.input(t)
			init, err := InitConfig(in)
			if err != nil {
				t.Fatal(err)
			}
			first, _ := plan.FirstControlPlane(in.Nodes)
			var join []byte
			for _, n := range in.Nodes {
				if n.Name != first.Name {
					if join, err = JoinConfig(in, n); err != nil {
						t.Fatal(err)
					}
					break
				}
			}
			cases := []struct {
				name     string
				src      []byte
				old, new string
				check    func(testing.TB, string, []byte) error
			}{
				{"invalid podSubnet", init, "podSubnet: " + in.Cluster.Network.PodCIDR, "podSubnet: 10.244.0.0/99", judge.KubeadmInit},
				{"unknown field", init, "mode: ", "notAField: true\nmode: ", judge.KubeadmInit},
				{"malformed join token", join, "token: " + testToken, "token: not-a-token", judge.KubeadmJoin},
				{"unknown join field", join, "discovery:", "notAField: true\ndiscovery:", judge.KubeadmJoin},
			}
			for _, c := range cases {
				broken := bytes.Replace(c.src, []byte(c.old), []byte(c.new), 1)
				if bytes.Equal(broken, c.src) {
					t.Fatalf("%s: %q is not in the rendered file", c.name, c.old)
				}
				err := c.check(t, in.Cluster.KubernetesVersion, broken)
				if err == nil {
					t.Errorf("%s: kubeadm accepted the broken file:\n%s", c.name, broken)
					continue
				}
				t.Logf("%s: rejected: %s", c.name, firstLine(err.Error()))
			}
		})
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
