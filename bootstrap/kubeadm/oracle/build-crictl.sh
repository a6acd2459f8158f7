#!/usr/bin/env bash
# build-crictl.sh VERSION [OUT]: builds crictl of cri-tools VERSION (v1.X.Y)
# from the Go module proxy into OUT (default: the kprov cache,
# crictl-VERSION), stamped so that `crictl --version` prints
# "crictl version VERSION" as the upstream release does. The sibling of
# build.sh, for the lab mirror (provision/lab/mirror.sh). Cached: a second
# call is a no-op. CGO_ENABLED=0 in the environment builds a static binary,
# and then a cached binary counts only if it was built that way too.
#
# cri-tools is built as the main module, in a copy of its module zip:
# some releases declare their path as github.com/kubernetes-sigs/cri-tools
# and carry replace directives, so they cannot be required as a dependency.
set -euo pipefail
version=${1:?usage: build-crictl.sh v1.X.Y [OUT]}
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "build-crictl.sh: $version: use a release such as v1.21.0" >&2; exit 2; }
cache=${KPROV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kprov}
out=${2:-$cache/crictl-$version}
built() {
  [ -x "$out" ] || return 1
  [ "$("$out" --version 2>/dev/null)" = "crictl version $version" ] || return 1
  local info
  info=$(go version -m "$out" 2>/dev/null) || return 1
  grep -qE "^\s+path\s+\S+/cmd/crictl$" <<<"$info" || return 1
  [ -z "${CGO_ENABLED:-}" ] || grep -qE "^\s+build\s+CGO_ENABLED=$CGO_ENABLED$" <<<"$info"
}
if built; then echo "$out"; exit 0; fi
# One build per output at a time: a second caller waits, then reuses it.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if built; then echo "$out"; exit 0; fi
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
src=$(cd "$work" && go mod download -json "sigs.k8s.io/cri-tools@$version" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
if [ -z "$src" ] || [ ! -f "$src/go.mod" ]; then
  echo "build-crictl.sh: the Go module proxy does not serve sigs.k8s.io/cri-tools@$version" >&2
  exit 1
fi
cp -r "$src" "$work/src"
chmod -R u+w "$work/src"
# The module's own path, for the version stamp.
modpath=$(sed -n 's/^module\s\+\(\S\+\).*/\1/p' "$work/src/go.mod" | head -n1)
(
  cd "$work/src"
  # The module zip has no vendor tree: resolve from the proxy instead.
  rm -rf vendor
  GOFLAGS=-mod=mod GOTOOLCHAIN=local go build -trimpath -o "$out.tmp" \
    -ldflags "-s -w -X $modpath/pkg/version.Version=$version" ./cmd/crictl
)
got=$("$out.tmp" --version 2>/dev/null || true)
if [ "$got" != "crictl version $version" ]; then
  rm -f "$out.tmp"
  echo "build-crictl.sh: the build prints \"$got\", not \"crictl version $version\"" >&2
  exit 1
fi
mv "$out.tmp" "$out"
echo "$out"
