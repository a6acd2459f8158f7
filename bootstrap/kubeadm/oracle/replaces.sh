#!/usr/bin/env bash
# Prints the go.mod replace directives that pin every k8s.io staging module to the
# release matching k8s.io/kubernetes VERSION (v1.X.Y -> v0.X.Y), read from that
# release's own go.mod through the Go module proxy.
set -euo pipefail
version=${1:?usage: replaces.sh v1.X.Y}
staging=v0.${version#v1.}
gomod=$(cd "$(mktemp -d)" && go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
echo "replace ("
sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$gomod"
echo ")"
