#!/usr/bin/env bash
# registry.sh build [FILE.json] | serve [ADDR:PORT] | stop | status: the
# lab's container registry, serving the images the lab's spec needs (built
# here from source: no registry is reachable) under their upstream names in
# the mirror_all layout, so that the nodes' containerd pulls
# registry.k8s.io/pause:3.9 from http://ADDR/v2/registry.k8s.io/pause/...
#
#   build   builds the images (provision/lab/images: Go binaries from the Go
#           module proxy, one shared Debian layer, assembled with
#           go-containerregistry, each cached by the hash of its recipe)
#           into the OCI layout DIR. The images are those of FILE.json (the
#           output of `kprov images SPEC -o json`), else of
#           `bin/kprov images SPEC -o json` when bin/kprov has that command,
#           else every recipe. Prints a table of CPU-seconds, wall time and
#           size per image. An image without a recipe fails the build,
#           named. Needs root (debootstrap).
#   serve   serves DIR read-only inside the lab's namespace on ADDR:PORT
#           (default 10.77.0.1:5000, the lab network's gateway; bound with
#           IP_FREEBIND, as libvirt adds the address later). Picks up a new
#           build by itself. Stops after KPROV_REGISTRY_TTL (default 8h).
#           Idempotent.
#   stop    stops the server by its recorded PID; idempotent
#   status  prints whether the server runs (exit 0 if so)
#
# Environment: KPROV_REGISTRY_DIR (default /var/lib/kprov/lab-images),
# KPROV_LAB_NETNS (default kprov-lab), KPROV_CACHE (build cache, default
# ~/.cache/kprov), KPROV_LAB_SPEC (default examples/lab.hcl),
# KPROV_CALICO_API (the github.com/projectcalico/api folder, default
# ../shared/upstream-src/calico-api-a0db560f0520), KPROV_LAB_MIRROR.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ns=${KPROV_LAB_NETNS:-kprov-lab}
dir=${KPROV_REGISTRY_DIR:-/var/lib/kprov/lab-images}
run=/run/kprov-registry/$ns
cache=${KPROV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kprov}
ttl=${KPROV_REGISTRY_TTL:-8h}
spec=${KPROV_LAB_SPEC:-$root/examples/lab.hcl}
bin=$cache/lab-images/images

log() { printf 'registry: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=server.sh
. "$here/server.sh"

# program: (re)builds the image tool; a no-op when it is up to date.
program() {
	command -v go >/dev/null || die "go not found: export PATH=/usr/local/go/bin:\$PATH"
	mkdir -p "$(dirname "$bin")"
	(cd "$root" && go build -o "$bin" ./provision/lab/images) || die "go build ./provision/lab/images failed"
}

list_tmp="" # the image list kprov printed, removed at exit

cmd_build() {
	local list=${1:-}
	[ "$(id -u)" = 0 ] || die "run as root (the Debian layer needs debootstrap and chroot)"
	program
	if [ -z "$list" ] && [ -x "$root/bin/kprov" ] && [ -f "$spec" ]; then
		list_tmp=$(mktemp)
		trap 'rm -f "$list_tmp"' EXIT
		if "$root/bin/kprov" images "$spec" -o json >"$list_tmp" 2>/dev/null; then
			list=$list_tmp
			log "images of $spec (bin/kprov images -o json)"
		else
			log "bin/kprov images $spec -o json failed: building every recipe"
		fi
	fi
	[ -n "$list" ] || log "no image list: building every recipe ($("$bin" list | wc -l) images)"
	"$bin" build --out "$dir" --root "$root" --cache "$cache/lab-images" ${list:+--images "$list"}
}

cmd_serve() {
	local addr=${1:-10.77.0.1:5000}
	[ -f "$dir/index.json" ] || die "$dir/index.json does not exist: registry.sh build first"
	program
	server_start "$addr" "$bin" serve --addr "$addr" --dir "$dir"
}

cmd_status() {
	local pid n
	if pid=$(server_alive); then
		n=$(grep -o '"org.opencontainers.image.ref.name"' "$dir/index.json" 2>/dev/null | wc -l)
		echo "registry   serving $n images of $dir on http://$(cat "$run/addr") in $ns (pid $pid)"
		return 0
	fi
	echo "registry   not running"
	return 1
}

case "${1:-}" in
build) shift; cmd_build "$@" ;;
serve) shift; cmd_serve "$@" ;;
stop) server_stop ;;
status) cmd_status ;;
*) echo "usage: registry.sh build [FILE.json] | serve [ADDR:PORT] | stop | status" >&2; exit 2 ;;
esac
