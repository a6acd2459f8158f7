package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestRecipesAreKubeadms checks every release's Kubernetes recipes against
// what its real kubeadm pulls: `kubeadm config images list
// --kubernetes-version KUBE` of the kubeadm that
// bootstrap/kubeadm/oracle/build.sh builds (make oracles).
func TestRecipesAreKubeadms(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: not running the real kubeadm")
	}
	for _, r := range releases {
		t.Run(r.kube, func(t *testing.T) {
			bin := oracleKubeadm(t, r.kube)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "config", "images", "list", "--kubernetes-version", r.kube)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s config images list: %v\n%s", bin, err, stderr.String())
			}
			want := strings.Fields(string(out))
			var got []string
			for _, rc := range r.recipes() {
				got = append(got, rc.ref)
			}
			sort.Strings(want)
			sort.Strings(got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the recipes of %s are\n  %s\nkubeadm %s lists\n  %s", r.kube,
					strings.Join(got, "\n  "), r.kube, strings.Join(want, "\n  "))
			}
			if _, err := Select(Recipes(), want); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestReleasesShareAlike checks that two releases naming the same image
// build it from the same inputs, so the one Recipes keeps is both's.
func TestReleasesShareAlike(t *testing.T) {
	seen := map[string]release{}
	for _, r := range releases {
		for _, rc := range r.recipes() {
			other, dup := seen[rc.ref]
			if !dup {
				seen[rc.ref] = r
				continue
			}
			var same bool
			switch {
			case strings.Contains(rc.ref, "/pause:"):
				// Kubernetes bumps pause's tag when pause.c changes.
				same = other.pause == r.pause
			case strings.Contains(rc.ref, "/etcd:"):
				same = other.etcdVersion == r.etcdVersion && reflect.DeepEqual(other.etcd, r.etcd) && reflect.DeepEqual(other.require, r.require)
			case strings.Contains(rc.ref, "/coredns/"):
				same = other.coredns == r.coredns && other.corednsCommit == r.corednsCommit && reflect.DeepEqual(other.require, r.require) &&
					reflect.DeepEqual(other.corednsRequire, r.corednsRequire)
			}
			if !same {
				t.Errorf("%s is a recipe of %s and of %s, built differently", rc.ref, other.kube, r.kube)
			}
		}
	}
}

// oracleKubeadm is where build.sh caches the real kubeadm of version
// (KPROV_CACHE, else XDG_CACHE_HOME/kprov, else ~/.cache/kprov).
func oracleKubeadm(t *testing.T, version string) string {
	t.Helper()
	cache := os.Getenv("KPROV_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				t.Fatal(err)
			}
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "kprov")
	}
	bin := filepath.Join(cache, "kubeadm-"+version)
	if info, err := os.Stat(bin); err != nil || !info.Mode().IsRegular() || info.Mode()&0o111 == 0 {
		t.Fatalf("no real kubeadm %s at %s: build it with `make oracles` (bootstrap/kubeadm/oracle/build.sh %s; minutes)", version, bin, version)
	}
	return bin
}
