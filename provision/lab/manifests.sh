#!/usr/bin/env bash
# manifests.sh [DIR]: the addon manifests examples/lab.hcl names, read from
# the upstream repositories' module zips on the Go module proxy (the lab
# reaches no other copy) into DIR (default /var/lib/kprov/manifests).
# Idempotent: a file already there with the same content is left alone.
#
#   calico-v3.28.5.yaml  manifests/calico.yaml of Calico's monorepo at the
#                        commit whose images are v3.28.5 (the proxy serves
#                        it as a pseudo-version; see ../shared/upstream-src)
#   metallb-v0.15.2-native.yaml  config/manifests/metallb-native.yaml of
#                        go.universe.tf/metallb v0.15.2
#   traefik-v3.6.12-crds.yaml, traefik-v3.6.12-rbac.yaml  Traefik's CRDs and
#                        their RBAC (docs/content/reference/dynamic-configuration/
#                        kubernetes-crd-definition-v1.yml, kubernetes-crd-rbac.yml
#                        of github.com/traefik/traefik/v3 v3.6.12)
set -euo pipefail
dir=${1:-${KPROV_MANIFEST_DIR:-/var/lib/kprov/manifests}}
log() { printf 'manifests: %s\n' "$*" >&2; }

# fetch MODULE@VERSION FILE DEST: FILE of the module's zip, to DIR/DEST.
fetch() {
	local mod=$1 file=$2 dest=$dir/$3 tmp src
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	src=$(cd "$tmp" && GOFLAGS=-mod=mod go mod download -json "$mod" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')
	[ -n "$src" ] && [ -f "$src/$file" ] || { log "error: go mod download $mod gave no $file"; exit 1; }
	mkdir -p "$dir"
	if ! cmp -s "$src/$file" "$dest"; then
		install -m 0644 "$src/$file" "$dest.tmp" && mv "$dest.tmp" "$dest"
		log "$dest from $mod/$file"
	fi
	echo "$dest"
}

fetch github.com/projectcalico/calico@v1.11.0-cni-plugin.0.20250813170300-a0db560f0520 manifests/calico.yaml calico-v3.28.5.yaml
fetch go.universe.tf/metallb@v0.15.2 config/manifests/metallb-native.yaml metallb-v0.15.2-native.yaml
fetch github.com/traefik/traefik/v3@v3.6.12 docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml traefik-v3.6.12-crds.yaml
fetch github.com/traefik/traefik/v3@v3.6.12 docs/content/reference/dynamic-configuration/kubernetes-crd-rbac.yml traefik-v3.6.12-rbac.yaml
