package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Env is what recipes and builders read from the machine: the repository
// (for build.sh and rootfs.sh), the cache, the toolchain and the source
// folders outside the module proxy. Lookups are memoized.
type Env struct {
	Root     string // the kprov repository
	Cache    string // the build cache (KPROV_CACHE/lab-images)
	Log      io.Writer
	Verbose  bool
	goVer    string
	mods     map[string]string
	fileSums map[string]string
	dirSums  map[string]string
}

// NewEnv returns the environment of a build from repository root into cache.
func NewEnv(root, cache string, log io.Writer) *Env {
	return &Env{Root: root, Cache: cache, Log: log,
		mods: map[string]string{}, fileSums: map[string]string{}, dirSums: map[string]string{}}
}

func (e *Env) logf(format string, args ...any) { fmt.Fprintf(e.Log, "images: "+format+"\n", args...) }

// GoVersion is the toolchain's version ("go1.26.8"), an input of every Go build.
func (e *Env) GoVersion() (string, error) {
	if e.goVer == "" {
		out, err := exec.Command("go", "env", "GOVERSION").Output()
		if err != nil {
			return "", fmt.Errorf("go env GOVERSION: %w: put Go on PATH (/usr/local/go/bin)", err)
		}
		e.goVer = strings.TrimSpace(string(out))
	}
	return e.goVer, nil
}

// GCCVersion is gcc's first --version line, the input of the pause build.
func (e *Env) GCCVersion() (string, error) {
	out, err := exec.Command("gcc", "--version").Output()
	if err != nil {
		return "", fmt.Errorf("gcc --version: %w: apt-get install gcc libc6-dev", err)
	}
	first, _, _ := strings.Cut(string(out), "\n")
	return first, nil
}

// FileSum is "sha256:<hex>" of the file at path (relative to Root unless absolute).
func (e *Env) FileSum(path string) (string, error) {
	if !filepath.IsAbs(path) {
		path = filepath.Join(e.Root, path)
	}
	if s, ok := e.fileSums[path]; ok {
		return s, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	e.fileSums[path] = "sha256:" + hex.EncodeToString(sum[:])
	return e.fileSums[path], nil
}

// DirSum fingerprints a directory tree: every regular file's path, mode
// and content, and every symlink's target, in lexical order.
func (e *Env) DirSum(dir string) (string, error) {
	if s, ok := e.dirSums[dir]; ok {
		return s, nil
	}
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "l %s %s\n", rel, t)
		case d.Type().IsRegular():
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			fh := sha256.New()
			_, err = io.Copy(fh, f)
			f.Close()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "f %s %o %x\n", rel, info.Mode().Perm(), fh.Sum(nil))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", dir, err)
	}
	e.dirSums[dir] = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return e.dirSums[dir], nil
}

// ModuleDir downloads module@version through the Go module proxy and
// returns its folder in the module cache (read-only).
func (e *Env) ModuleDir(module, version string) (string, error) {
	mv := module + "@" + version
	if d, ok := e.mods[mv]; ok {
		return d, nil
	}
	cmd := exec.Command("go", "mod", "download", "-json", mv)
	cmd.Dir = os.TempDir() // outside any module: no go.mod is read or changed
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	pinned, unlisted := notInSumDB[mv]
	if unlisted {
		cmd.Env = append(cmd.Env, "GONOSUMDB="+module)
	}
	out, err := cmd.Output()
	var info struct{ Dir, Error, Sum string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("the Go module proxy does not serve %s: %s", mv, info.Error)
	}
	if err != nil || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %w: check GOPROXY", mv, err)
	}
	if unlisted && info.Sum != pinned {
		return "", fmt.Errorf("%s has hash %s, not the pinned %s: refusing it", mv, info.Sum, pinned)
	}
	e.mods[mv] = info.Dir
	return info.Dir, nil
}

// ReadModuleFile reads path inside module@version.
func (e *Env) ReadModuleFile(module, version, path string) ([]byte, error) {
	dir, err := e.ModuleDir(module, version)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(filepath.Join(dir, path))
}

// notInSumDB are modules the checksum database here does not know, with
// the go.sum hash each is pinned to instead (what the proxy served on
// 2026-12-01; bootstrap/kubeadm/oracle/build-kube-vip.sh pins the same).
var notInSumDB = map[string]string{
	"github.com/kube-vip/kube-vip@v0.9.2": "h1:LAvGmK34svcNhTxXNyDoV7s1bHYEgXrM3ff2FxfH6Us=",
}
