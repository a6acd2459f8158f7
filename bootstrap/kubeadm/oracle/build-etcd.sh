#!/usr/bin/env bash
# build-etcd.sh [OUT]: builds the real etcd server (go.etcd.io/etcd/server/v3,
# whose module root is etcd's `package main`, the one upstream's
# build script builds) of ETCD_VERSION (default below) from the Go module
# proxy into OUT (default: the kprov cache, etcd-VERSION). The sibling of
# build.sh: the storage of the API server judge (internal/judge/apiserver.go).
# etcd 3.6 serves kube-apiserver 1.21 (etcd client v3.4, the v3 API only)
# as well as 1.37. Cached: a second call is a no-op. CGO_ENABLED=0 in the
# environment builds a static binary, and then a cached binary counts only
# if it was built that way too.
#
# etcd is required as a dependency of a scratch module: the server module's
# own go.mod replaces its sibling modules by relative paths (../api), which
# only resolve inside etcd's repository.
set -euo pipefail
version=${ETCD_VERSION:-v3.6.16}
# ETCD_PROGRAM=etcdctl builds etcd's client (go.etcd.io/etcd/etcdctl/v3)
# instead, into etcdctl-VERSION: the etcd package's tests use it.
case ${ETCD_PROGRAM:-etcd} in
  etcd) module=go.etcd.io/etcd/server/v3 name=etcd ;;
  etcdctl) module=go.etcd.io/etcd/etcdctl/v3 name=etcdctl ;;
  *) echo "build-etcd.sh: ETCD_PROGRAM=$ETCD_PROGRAM: use etcd or etcdctl" >&2; exit 2 ;;
esac
[[ "$version" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || { echo "build-etcd.sh: ETCD_VERSION=$version: use a release such as v3.6.16" >&2; exit 2; }
cache=${KPROV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kprov}
out=${1:-$cache/$name-$version}
# The build info is the truth: etcd's version is a constant of its api module.
built() {
  [ -x "$out" ] || return 1
  local info
  info=$(go version -m "$out" 2>/dev/null) || return 1
  grep -qE "^\s+path\s+$module$" <<<"$info" || return 1
  grep -qE "^\s+mod\s+$module\s+$version\s" <<<"$info" || return 1
  [ -z "${CGO_ENABLED:-}" ] || grep -qE "^\s+build\s+CGO_ENABLED=$CGO_ENABLED$" <<<"$info"
}
if built; then echo "$out"; exit 0; fi
# One build per output at a time: a second caller waits, then reuses it.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if built; then echo "$out"; exit 0; fi
mod=$(mktemp -d)
trap 'rm -rf "$mod"' EXIT
cat > "$mod/go.mod" <<MOD
module kprov.invalid/etcd-build

go 1.26

require $module $version
MOD
cat > "$mod/tools.go" <<GO
//go:build tools

package tools

import _ "$module"
GO
(
  cd "$mod"
  GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod tidy -e >/dev/null 2>&1 || true
  got=$(GOFLAGS=-mod=mod GOTOOLCHAIN=local go list -m -f '{{.Version}}' $module)
  if [ "$got" != "$version" ]; then
    echo "build-etcd.sh: module graph resolved $module $got, not $version" >&2; exit 1
  fi
  GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -trimpath -o "$out.tmp" -ldflags "-s -w" $module
)
if [ "$name" = etcd ]; then
  got=$("$out.tmp" --version 2>/dev/null | sed -n 's/^etcd Version: //p')
else
  got=$("$out.tmp" version 2>/dev/null | sed -n 's/^etcdctl version: //p')
fi
if [ "v$got" != "$version" ]; then
  rm -f "$out.tmp"
  echo "build-etcd.sh: the build says $name version \"$got\", not $version" >&2
  exit 1
fi
mv "$out.tmp" "$out"
echo "$out"
