#!/usr/bin/env bash
# build-kube-vip.sh [OUT]: builds the real kube-vip of KUBE_VIP_VERSION
# (default below) from the Go module proxy into OUT (default: the kprov
# cache, kube-vip-VERSION), as its Makefile does: the module as the main
# module, CGO_ENABLED=0, -s -w, main.Version and main.Build stamped. The
# judge of kprov's kube-vip static pod (bootstrap/kubeadm, vip tests).
# Cached: a second call is a no-op.
#
# The checksum database here does not know kube-vip, so the module is
# fetched with GONOSUMDB and its hash checked against the one pinned below
# (the h1: hash the proxy served on 2026-12-01; go.sum's format).
set -euo pipefail
version=${KUBE_VIP_VERSION:-v0.9.2}
module=github.com/kube-vip/kube-vip
declare -A pinned=(
  [v0.9.2]="h1:LAvGmK34svcNhTxXNyDoV7s1bHYEgXrM3ff2FxfH6Us="
)
sum=${pinned[$version]:-}
[ -n "$sum" ] || { echo "build-kube-vip.sh: KUBE_VIP_VERSION=$version: no pinned hash; known: ${!pinned[*]}" >&2; exit 2; }
cache=${KPROV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kprov}
out=${1:-$cache/kube-vip-$version}
built() {
  [ -x "$out" ] && "$out" version 2>/dev/null | grep -qE "^Version:\s+$version$"
}
if built; then echo "$out"; exit 0; fi
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if built; then echo "$out"; exit 0; fi
export GOFLAGS=-mod=mod GOTOOLCHAIN=local GONOSUMDB=$module CGO_ENABLED=0
info=$(cd "${TMPDIR:-/tmp}" && go mod download -json "$module@$version")
dir=$(sed -n 's/^\s*"Dir": "\(.*\)",\?$/\1/p' <<<"$info")
ziphash=$(sed -n 's/^\s*"Sum": "\(.*\)",\?$/\1/p' <<<"$info")
commit=$(sed -n 's/^\s*"Hash": "\(.*\)",\?$/\1/p' <<<"$info")
if [ -z "$dir" ]; then
  echo "build-kube-vip.sh: the Go module proxy does not serve $module@$version:" >&2
  echo "$info" >&2
  exit 1
fi
if [ "$ziphash" != "$sum" ]; then
  echo "build-kube-vip.sh: $module@$version has hash $ziphash, not the pinned $sum: refusing it" >&2
  exit 1
fi
(cd "$dir" && go build -trimpath -o "$out.tmp" \
  -ldflags "-s -w -X=main.Version=$version -X=main.Build=$commit -extldflags -static" .)
mv "$out.tmp" "$out"
built || { echo "build-kube-vip.sh: $out does not say version $version" >&2; exit 1; }
echo "$out"
