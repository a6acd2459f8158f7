package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binary returns the path of b's output, built into the cache under b's
// key unless it is there already.
func (e *Env) Binary(b Binary) (string, error) {
	dir := filepath.Join(e.Cache, "bin", b.Key())
	out := filepath.Join(dir, b.Name)
	if info, err := os.Stat(out); err == nil && info.Mode().IsRegular() {
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp := filepath.Join(dir, "."+b.Name+".build")
	os.Remove(tmp)
	e.logf("build %s (%s %s@%s)", b.Name, b.Package, b.Module, b.Version)
	var err error
	switch b.Kind {
	case "kubernetes":
		err = e.buildKubernetes(b, tmp)
	case "kubernetes-package":
		err = e.buildKubernetesPackage(b, tmp)
	case "module":
		err = e.buildModule(b, tmp)
	case "main":
		err = e.buildMain(b, tmp)
	case "calico":
		err = e.buildCalico(b, tmp)
	case "pause":
		err = e.buildPause(b, tmp)
	default:
		err = fmt.Errorf("unknown builder %q", b.Kind)
	}
	if err != nil {
		return "", fmt.Errorf("build %s: %w", b.Name, err)
	}
	if err := checkStatic(tmp); err != nil {
		return "", fmt.Errorf("build %s: %w", b.Name, err)
	}
	return out, os.Rename(tmp, out)
}

// run runs name args in dir with env added, its output to the log.
func (e *Env) run(dir string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = e.Log, e.Log
	if e.Verbose {
		e.logf("run %s %s", name, strings.Join(args, " "))
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// goEnv is the environment of every Go build: static, no toolchain
// switch, modules resolved through the proxy.
var goEnv = []string{"CGO_ENABLED=0", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod -buildvcs=false"}

// buildKubernetes runs bootstrap/kubeadm/oracle/build.sh, which resolves
// the staging modules and stamps the version.
func (e *Env) buildKubernetes(b Binary, out string) error {
	script := filepath.Join(e.Root, "bootstrap/kubeadm/oracle/build.sh")
	err := e.run(e.Root, []string{"CGO_ENABLED=0"}, script, b.Version, out, b.Package)
	os.Remove(out + ".lock")
	return err
}

// buildKubernetesPackage builds b.Package, a package of the Kubernetes
// module that build.sh does not build (agnhost), the way build.sh builds
// commands: b.Module@b.Version required by a scratch module with
// bootstrap/kubeadm/oracle/replaces.sh's replace directives, which pin the
// staging modules (k8s.io/api, ...) to the release's.
func (e *Env) buildKubernetesPackage(b Binary, out string) error {
	script := filepath.Join(e.Root, "bootstrap/kubeadm/oracle/replaces.sh")
	cmd := exec.Command(script, b.Version)
	cmd.Dir, cmd.Env, cmd.Stderr = os.TempDir(), append(os.Environ(), goEnv...), e.Log
	replaces, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("%s %s: %w", script, b.Version, err)
	}
	if !strings.Contains(string(replaces), "k8s.io/api => k8s.io/api ") {
		return fmt.Errorf("%s %s printed no replace directive for k8s.io/api: check that the Go module proxy serves k8s.io/kubernetes %s", script, b.Version, b.Version)
	}
	return e.buildModule(b, out, string(replaces))
}

// buildModule builds b.Package of b.Module@b.Version as a dependency of a
// scratch module (the module's own replace directives, relative to its
// repository, then do not apply), as build-etcd.sh does, with b.Require
// required too; extra is added to the scratch module's go.mod.
func (e *Env) buildModule(b Binary, out string, extra ...string) error {
	mod, err := os.MkdirTemp("", "kprov-lab-build.")
	if err != nil {
		return err
	}
	defer os.RemoveAll(mod)
	gomod := fmt.Sprintf("module kprov.invalid/lab-build\n\ngo 1.21\n\nrequire %s %s\n", b.Module, b.Version)
	for _, r := range b.Require {
		gomod += "require " + r + "\n"
	}
	for _, x := range extra {
		gomod += "\n" + x
	}
	tools := fmt.Sprintf("//go:build tools\n\npackage tools\n\nimport _ %q\n", b.Package)
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(mod, "tools.go"), []byte(tools), 0o644); err != nil {
		return err
	}
	if err := e.run(mod, goEnv, "go", "mod", "tidy", "-e"); err != nil {
		return err
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", b.Module)
	cmd.Dir, cmd.Env = mod, append(os.Environ(), goEnv...)
	got, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go list -m %s: %w", b.Module, err)
	}
	if v := strings.TrimSpace(string(got)); v != b.Version {
		return fmt.Errorf("the module graph resolved %s %s, not %s", b.Module, v, b.Version)
	}
	return e.run(mod, goEnv, "go", "build", "-trimpath", "-ldflags", b.Flags, "-o", out, b.Package)
}

// buildMain builds b.Package with b.Module as the main module, read in
// place from the module cache, so that its go.sum and its replace
// directives (forks) apply as in upstream's builds: a copy of its go.mod
// with edits (go mod edit flags) is passed with -modfile.
func (e *Env) buildMain(b Binary, out string, edits ...string) error {
	src, err := e.ModuleDir(b.Module, b.Version)
	if err != nil {
		return err
	}
	mod := filepath.Join(e.Cache, "modfile", key(append([]string{b.Module, b.Version}, edits...)))
	gomod := filepath.Join(mod, "go.mod")
	if _, err := os.Stat(gomod); err != nil {
		if err := os.MkdirAll(mod, 0o755); err != nil {
			return err
		}
		for _, f := range []string{"go.mod", "go.sum"} {
			data, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(mod, f+".new"), data, 0o644); err != nil {
				return err
			}
		}
		if len(edits) > 0 {
			if err := e.run(mod, goEnv, "go", append(append([]string{"mod", "edit"}, edits...), "go.mod.new")...); err != nil {
				return err
			}
		}
		if err := os.Rename(filepath.Join(mod, "go.sum.new"), filepath.Join(mod, "go.sum")); err != nil {
			return err
		}
		if err := os.Rename(filepath.Join(mod, "go.mod.new"), gomod); err != nil {
			return err
		}
	}
	if len(b.Patches) > 0 {
		// Go refuses -overlay for files in the module cache: build a
		// patched copy instead.
		copy, err := patchedCopy(src, filepath.Dir(out), b.Patches)
		if err != nil {
			return fmt.Errorf("%s@%s: %w", b.Module, b.Version, err)
		}
		defer os.RemoveAll(copy)
		src = copy
	}
	return e.run(src, goEnv, "go", "build", "-modfile", gomod, "-trimpath", "-ldflags", b.Flags, "-o", out, b.Package)
}

// patchedCopy copies the module's folder src into a new folder under dir,
// applies patches there and returns its path. A patch whose Old text is
// not in its file exactly once fails, leaving nothing: upstream changed,
// the patch needs a look.
func patchedCopy(src, dir string, patches []SourcePatch) (string, error) {
	tmp, err := os.MkdirTemp(dir, ".patched.")
	if err != nil {
		return "", err
	}
	if err := apply(src, tmp, patches); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return tmp, nil
}

func apply(src, tmp string, patches []SourcePatch) error {
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(tmp, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(to, data, 0o644)
		}
		return nil // the module zip holds no links or devices
	})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range patches {
		if seen[p.Path] {
			return fmt.Errorf("two patches of %s: make them one", p.Path)
		}
		seen[p.Path] = true
		file := filepath.Join(tmp, filepath.FromSlash(p.Path))
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("patch of %s (%s): %w", p.Path, p.Why, err)
		}
		if n := strings.Count(string(data), p.Old); n != 1 {
			return fmt.Errorf("patch of %s (%s): the text to replace occurs %d times, want 1: upstream changed, review the patch", p.Path, p.Why, n)
		}
		if err := os.WriteFile(file, []byte(strings.Replace(string(data), p.Old, p.New, 1)), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildCalico builds b.Package of the Calico monorepo as the main module
// (buildMain) with github.com/projectcalico/api replaced by the folder
// calicoAPIDir names.
func (e *Env) buildCalico(b Binary, out string) error {
	api, err := e.calicoAPIDir()
	if err != nil {
		return err
	}
	return e.buildMain(b, out, "-replace", "github.com/projectcalico/api="+api)
}

// buildPause compiles the C file b.Package of the module with b.Flags and
// strips it, as build/pause/Makefile does.
func (e *Env) buildPause(b Binary, out string) error {
	src, err := e.ModuleDir(b.Module, b.Version)
	if err != nil {
		return err
	}
	args := append(strings.Fields(b.Flags), "-o", out, filepath.Join(src, b.Package))
	if err := e.run(os.TempDir(), nil, "gcc", args...); err != nil {
		return err
	}
	return e.run(os.TempDir(), nil, "strip", out)
}

// checkStatic refuses a dynamically linked ELF file: the images have no
// C library.
func checkStatic(p string) error {
	out, err := exec.Command("file", "-b", p).Output()
	if err != nil {
		return fmt.Errorf("file %s: %w: apt-get install file", p, err)
	}
	if !strings.Contains(string(out), "statically linked") {
		return fmt.Errorf("%s is not statically linked: %s", p, strings.TrimSpace(string(out)))
	}
	return nil
}
