#!/usr/bin/env bash
# build.sh VERSION [OUT] [CMD]: builds the real CMD (kubeadm, the default;
# kubelet, kubectl, kube-apiserver, kube-controller-manager, kube-scheduler
# or kube-proxy) of Kubernetes VERSION from the Go module proxy into OUT
# (default: the kprov cache, CMD-VERSION). kubeadm judges kprov's rendered
# configurations with `kubeadm init --dry-run --config`; the lab mirror
# (provision/lab/mirror.sh) serves kubeadm, kubelet and kubectl to the nodes;
# kube-apiserver (with build-etcd.sh's etcd) is the API server judge of
# internal/judge/apiserver.go; the lab's image builder (provision/lab/images)
# puts the control-plane components and kube-proxy into container images.
# Cached: a second call is a no-op.
# CGO_ENABLED=0 in the environment builds a static binary, and then a cached
# binary counts only if it was built that way too.
set -euo pipefail
version=${1:?usage: build.sh v1.X.Y [OUT] [kubeadm|kubelet|kubectl|kube-apiserver|kube-controller-manager|kube-scheduler|kube-proxy]}
cmd=${3:-kubeadm}
case $cmd in
  kubeadm | kubelet | kubectl | kube-apiserver | kube-controller-manager | kube-scheduler | kube-proxy) ;;
  *) echo "build.sh: unknown command $cmd: kubeadm, kubelet, kubectl, kube-apiserver, kube-controller-manager, kube-scheduler or kube-proxy" >&2; exit 2 ;;
esac
cache=${KPROV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kprov}
out=${2:-$cache/$cmd-$version}
# The version string is stamped by -ldflags; the build info is the truth.
built() {
  [ -x "$out" ] || return 1
  local info
  info=$(go version -m "$out" 2>/dev/null) || return 1
  grep -qE "^\s+path\s+k8s.io/kubernetes/cmd/$cmd$" <<<"$info" || return 1
  # (\s|$): a release built with a generated file (see below) is a copy
  # of the module, so a replacement line follows instead of the sum.
  grep -qE "^\s+mod\s+k8s.io/kubernetes\s+$version(\s|$)" <<<"$info" || return 1
  [ -z "${CGO_ENABLED:-}" ] || grep -qE "^\s+build\s+CGO_ENABLED=$CGO_ENABLED$" <<<"$info"
}
if built; then echo "$out"; exit 0; fi
# One build per output at a time: a second caller waits, then reuses it.
mkdir -p "$(dirname "$out")"
exec 9>"$out.lock"
flock 9
if built; then echo "$out"; exit 0; fi
here=$(cd "$(dirname "$0")" && pwd)

# gen_openapi SRC MOD: writes MOD/zz_generated.openapi.go, the OpenAPI
# definitions of k8s.io/kubernetes/pkg/generated/openapi, which old releases
# (1.21; 1.30 has it) do not ship: upstream's `make` generates them, and
# kube-apiserver does not compile without them. It follows upstream's rule
# (build/root/Makefile.generated_files, OPENAPI target KUBE): the inputs are
# every package of kubernetes and of its staging modules but code-generator
# and sample-apiserver with a file tagged `// +k8s:` and
# `+k8s:openapi-gen=`; the generator is the release's own kube-openapi
# openapi-gen; and, as upstream's rule, the API rule violations it reports
# must be the release's known list (api/api-rules/violation_exceptions.list),
# which checks that the inputs are upstream's.
gen_openapi() {
  local src=$1 mod=$2 gen=$2/openapi-gen.d m v dir header
  header=$src/hack/boilerplate/boilerplate.generatego.txt
  [ -f "$header" ] || header=/dev/null
  mkdir "$gen"
  cp "$mod/go.mod" "$mod/go.sum" "$gen/"
  printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kube-openapi/cmd/openapi-gen"\n' > "$gen/tools.go"
  (cd "$gen" && GOFLAGS=-mod=mod go build -o "$gen/openapi-gen" k8s.io/kube-openapi/cmd/openapi-gen)
  # tagged SRC IMPORTPATH: the module's packages that upstream's rule picks
  # (grep fails on a module without any: not an error).
  tagged() {
    (cd "$1" && find -H . \( -name '_*' -o -name '.[^.]*' -o -path ./vendor \) -prune -o -type f -name '*.go' -print \
      | xargs -r grep -l '^// *+k8s:' | xargs -r grep -l '+k8s:openapi-gen=' \
      | xargs -r -n1 dirname | sed "s|^\.|$2|" | LC_ALL=C sort -u) || true
  }
  {
    tagged "$src" k8s.io/kubernetes
    # The staging modules, at the versions go.mod pins them to.
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => \S* \(v\S*\)$#\1 \2#p' "$mod/go.mod" | while read -r m v; do
      case $m in k8s.io/code-generator | k8s.io/sample-apiserver) continue ;; esac
      # A module the proxy does not serve at v (sample-controller) has no API types.
      dir=$(cd "$gen" && go mod download -json "$m@$v" 2>/dev/null | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p') || true
      [ -z "$dir" ] || tagged "$dir" "$m"
    done
  } | LC_ALL=C sort -u > "$gen/inputs"
  (cd "$gen" && GOFLAGS=-mod=mod ./openapi-gen --logtostderr \
    -i "$(paste -sd, "$gen/inputs")" -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
    -h "$header" -r "$gen/violations" -o "$gen/out" >"$gen/log" 2>&1) || {
    cat "$gen/log" >&2; echo "build.sh: openapi-gen failed" >&2; return 1; }
  if ! diff "$src/api/api-rules/violation_exceptions.list" "$gen/violations" >&2; then
    echo "build.sh: openapi-gen's API rule violations differ from the release's known list: the inputs are not upstream's" >&2
    return 1
  fi
  mv "$gen/out/k8s.io/kubernetes/pkg/generated/openapi/zz_generated.openapi.go" "$mod/"
}
mod=$(mktemp -d)
trap 'chmod -R u+w "$mod" 2>/dev/null; rm -rf "$mod"' EXIT
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
  src=$(GOFLAGS=-mod=mod go list -m -f '{{.Dir}}' k8s.io/kubernetes)
  deps=$(GOFLAGS=-mod=mod go list -deps "k8s.io/kubernetes/cmd/$cmd")
  if [ ! -f "$src/pkg/generated/openapi/zz_generated.openapi.go" ] &&
    grep -qx k8s.io/kubernetes/pkg/generated/openapi <<<"$deps"; then
    # The module cache is read-only (and -overlay refuses files in it):
    # build from a copy of the module with the generated file added.
    gen_openapi "$src" "$mod"
    cp -r "$src" "$mod/kubernetes"
    chmod -R u+w "$mod/kubernetes"
    mv "$mod/zz_generated.openapi.go" "$mod/kubernetes/pkg/generated/openapi/"
    go mod edit -replace k8s.io/kubernetes=./kubernetes
  fi
  # Stamped as upstream's hack/lib/version.sh does: component-base's
  # version (--version) and client-go's, which kube-apiserver 1.21 serves
  # at /version.
  minor=$(echo "$version" | cut -d. -f2)
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  done
  GOFLAGS=-mod=mod go build -trimpath -o "$out.tmp" -ldflags "$ldflags" "k8s.io/kubernetes/cmd/$cmd"
)
mv "$out.tmp" "$out"
echo "$out"
