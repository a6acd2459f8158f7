#!/usr/bin/env bash
# build.sh VERSION [OUT] [CMD]: builds the real CMD (kubeadm, the default;
# kubelet or kubectl) of Kubernetes VERSION from the Go module proxy into OUT
# (default: the kprov cache, CMD-VERSION). kubeadm judges kprov's rendered
# configurations with `kubeadm init --dry-run --config`; the lab mirror
# (provision/lab/mirror.sh) serves all three to the nodes. Cached: a second
# call is a no-op. CGO_ENABLED=0 in the environment builds a static binary,
# and then a cached binary counts only if it was built that way too.
set -euo pipefail
version=${1:?usage: build.sh v1.X.Y [OUT] [kubeadm|kubelet|kubectl]}
cmd=${3:-kubeadm}
case $cmd in kubeadm | kubelet | kubectl) ;; *) echo "build.sh: unknown command $cmd: kubeadm, kubelet or kubectl" >&2; exit 2 ;; esac
cache=${KPROV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kprov}
out=${2:-$cache/$cmd-$version}
# The version string is stamped by -ldflags; the build info is the truth.
built() {
  [ -x "$out" ] || return 1
  local info
  info=$(go version -m "$out" 2>/dev/null) || return 1
  grep -qE "^\s+path\s+k8s.io/kubernetes/cmd/$cmd$" <<<"$info" || return 1
  grep -qE "^\s+mod\s+k8s.io/kubernetes\s+$version\s" <<<"$info" || return 1
  [ -z "${CGO_ENABLED:-}" ] || grep -qE "^\s+build\s+CGO_ENABLED=$CGO_ENABLED$" <<<"$info"
}
if built; then echo "$out"; exit 0; fi
# One build per output at a time: a second caller waits, then reuses it.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if built; then echo "$out"; exit 0; fi
here=$(cd "$(dirname "$0")" && pwd)
mod=$(mktemp -d)
trap 'rm -rf "$mod"' EXIT
{
  echo "module kprov.invalid/k8s-build"
  echo
  echo "go 1.21"
  echo
  echo "require k8s.io/kubernetes $version"
  echo
  "$here/replaces.sh" "$version"
} > "$mod/go.mod"
cat > "$mod/tools.go" <<GO
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/$cmd"
GO
(
  cd "$mod"
  # Old releases pin reflect2 1.0.1, which crashes on Go >= 1.18 maps. Only
  # raise it: new releases need a newer reflect2, and `go get` to an older
  # one would silently downgrade k8s.io/kubernetes itself.
  case $(GOFLAGS=-mod=mod go list -m -f '{{.Version}}' github.com/modern-go/reflect2) in
    v0.*|v1.0.0|v1.0.1) GOFLAGS=-mod=mod go get github.com/modern-go/reflect2@v1.0.2 >/dev/null ;;
  esac
  GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>&1 || true
  got=$(GOFLAGS=-mod=mod go list -m -f '{{.Version}}' k8s.io/kubernetes)
  if [ "$got" != "$version" ]; then
    echo "build.sh: module graph resolved k8s.io/kubernetes $got, not $version" >&2; exit 1
  fi
  GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" \
    -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)" \
    "k8s.io/kubernetes/cmd/$cmd"
)
mv "$out.tmp" "$out"
echo "$out"
