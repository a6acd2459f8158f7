#!/usr/bin/env bash
# manifests.sh [DIR]: the addon manifests examples/lab.hcl names, read from
# the upstream repositories' module zips on the Go module proxy (the lab
# reaches no other copy) into DIR (default /var/lib/kprov/manifests).
# Idempotent: a file already there with the same content is left alone.
#
#   calico-v3.28.5.yaml  manifests/calico.yaml of Calico's monorepo at the
#                        commit whose images are v3.28.5 (the proxy serves
#                        it as a pseudo-version; see ../shared/upstream-src)
#   calico-v3.28.5-lab.yaml  the same with calico-node's and
#                        calico-kube-controllers' probes slowed for software
#                        emulation (below); examples/lab.hcl names this one
#   metallb-v0.15.2-native.yaml  config/manifests/metallb-native.yaml of
#                        go.universe.tf/metallb v0.15.2
#   metallb-v0.15.2-native-lab.yaml  the same with CPU requests and slowed
#                        probes for software emulation (below); examples/lab.hcl
#                        names this one
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
# Under software emulation every exec probe (a runc exec of calico-node or
# check-status) takes seconds of CPU, and 10 s timeouts with 6 failures
# restart calico-node while it is still starting, which makes the control
# plane busier still. The lab's copy probes every 60 s with 60 s to answer
# and 20 failures allowed; nothing else changes. Each of the nine lines is
# checked so an upstream change fails here, not in the cluster.
lab_calico() {
	local src=$1 dest=$dir/calico-v3.28.5-lab.yaml n
	n=$(grep -cE '^ {12}(periodSeconds: 10|timeoutSeconds: 10|failureThreshold: 6)$' "$src")
	[ "$n" = 9 ] || { log "error: $src has $n probe lines of the 9 the lab slows: upstream changed, update lab_calico"; exit 1; }
	sed -E 's/^( {12})periodSeconds: 10$/\1periodSeconds: 60/; s/^( {12})timeoutSeconds: 10$/\1timeoutSeconds: 60/; s/^( {12})failureThreshold: 6$/\1failureThreshold: 20/' "$src" >"$dest.tmp"
	if cmp -s "$dest.tmp" "$dest"; then rm "$dest.tmp"; else mv "$dest.tmp" "$dest" && log "$dest from $src, probes slowed"; fi
}
lab_calico "$dir/calico-v3.28.5.yaml"

fetch go.universe.tf/metallb@v0.15.2 config/manifests/metallb-native.yaml metallb-v0.15.2-native.yaml
# MetalLB's pods ask for no CPU, so they are BestEffort: the kubelet gives
# that class the least CPU weight there is, and on a control plane that
# software emulation keeps saturated the speaker got 2 s of CPU in its
# first 2 minutes, logged nothing, and was killed by its liveness probe
# (1 s to answer, 3 failures) over and over. The lab's copy asks for
# 100m CPU and 64Mi (Burstable, like calico-node) and probes every 60 s
# with 30 s to answer and 20 failures allowed. Each edited line is
# checked so an upstream change fails here, not in the cluster.
lab_metallb() {
	local src=$1 dest=$dir/metallb-v0.15.2-native-lab.yaml n
	n=$(grep -cE '^ {10}(periodSeconds: 10|timeoutSeconds: 1|failureThreshold: 3)$' "$src")
	[ "$n" = 12 ] || { log "error: $src has $n probe lines of the 12 the lab slows: upstream changed, update lab_metallb"; exit 1; }
	n=$(grep -cE '^ {8}image: quay.io/metallb/(controller|speaker):v0.15.2$' "$src")
	[ "$n" = 2 ] || { log "error: $src has $n image lines of the 2 the lab gives requests: upstream changed, update lab_metallb"; exit 1; }
	sed -E 's/^( {10})periodSeconds: 10$/\1periodSeconds: 60/; s/^( {10})timeoutSeconds: 1$/\1timeoutSeconds: 30/; s/^( {10})failureThreshold: 3$/\1failureThreshold: 20/
		s/^( {8})(image: quay.io\/metallb\/(controller|speaker):v0.15.2)$/\1\2\n\1resources:\n\1  requests:\n\1    cpu: 100m\n\1    memory: 64Mi/' "$src" >"$dest.tmp"
	if cmp -s "$dest.tmp" "$dest"; then rm "$dest.tmp"; else mv "$dest.tmp" "$dest" && log "$dest from $src, requests added, probes slowed"; fi
}
lab_metallb "$dir/metallb-v0.15.2-native.yaml"
fetch github.com/traefik/traefik/v3@v3.6.12 docs/content/reference/dynamic-configuration/kubernetes-crd-definition-v1.yml traefik-v3.6.12-crds.yaml
fetch github.com/traefik/traefik/v3@v3.6.12 docs/content/reference/dynamic-configuration/kubernetes-crd-rbac.yml traefik-v3.6.12-rbac.yaml
