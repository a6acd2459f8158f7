#!/usr/bin/env bash
# mirror.sh build [VERSION] | serve [ADDR:PORT] | stop | status: the lab's
# artifact mirror, laid out like dl.k8s.io and the cri-tools releases, so
# that the lab's nodes install kubeadm, kubelet, kubectl and crictl without
# leaving the lab's network namespace.
#
#   build   builds static kubeadm, kubelet and kubectl of VERSION (default: the
#           kubernetes_version of examples/lab.hcl) from the Go module proxy
#           (bootstrap/kubeadm/oracle/build.sh, cached) and lays them out as
#           DIR/release/VERSION/bin/linux/amd64/NAME with NAME.sha256 beside
#           each (the bare hex digest, as dl.k8s.io serves it); and a static
#           crictl of CRICTL (KPROV_CRICTL_VERSION, else the spec's
#           crictl_version, else v1.MINOR.0 of VERSION, as kprov defaults it)
#           from the Go module proxy (build-crictl.sh beside build.sh,
#           cached), packed as the cri-tools release tarball
#           DIR/cri-tools/CRICTL/crictl-CRICTL-linux-amd64.tar.gz with its
#           .sha256 beside it (a sha256sum line)
#   serve   serves DIR over HTTP inside the lab's namespace on ADDR:PORT
#           (default 10.77.0.1:8080, the lab network's gateway); the address
#           may not exist yet (libvirt adds it with the network), so the
#           socket binds with IP_FREEBIND. Stops by itself after
#           KPROV_MIRROR_TTL (default 8h). Idempotent.
#   stop    stops the server by its recorded PID; idempotent
#   status  prints whether the server runs (exit 0 if so)
#
# Environment: KPROV_MIRROR_DIR (default /var/lib/kprov/mirror),
# KPROV_LAB_NETNS (default kprov-lab), KPROV_CACHE (build cache),
# KPROV_LAB_SPEC (default examples/lab.hcl), KPROV_CRICTL_VERSION.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ns=${KPROV_LAB_NETNS:-kprov-lab}
dir=${KPROV_MIRROR_DIR:-/var/lib/kprov/mirror}
run=/run/kprov-mirror/$ns
cache=${KPROV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kprov}
ttl=${KPROV_MIRROR_TTL:-8h}
spec=${KPROV_LAB_SPEC:-$root/examples/lab.hcl}

log() { printf 'mirror: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# shellcheck source=server.sh
. "$here/server.sh"

# spec_value NAME: the string attribute NAME of the lab spec, if set.
spec_value() {
	sed -n 's/^\s*'"$1"'\s*=\s*"\([^"]*\)".*/\1/p' "$spec" | head -n1
}

# lab_version: kubernetes_version of the lab spec, in kubeadm's v form.
lab_version() {
	local v
	v=$(spec_value kubernetes_version)
	[ -n "$v" ] || die "no kubernetes_version in $spec: pass VERSION"
	echo "v${v#v}"
}

# crictl_version VERSION: the crictl kprov installs on the lab's nodes.
crictl_version() {
	local v=${KPROV_CRICTL_VERSION:-$(spec_value crictl_version)}
	[ -n "$v" ] || v=$(cut -d. -f1-2 <<<"$1").0
	echo "v${v#v}"
}

cmd_build() {
	local version=${1:-$(lab_version)} name bin dst t0 sum
	[[ "$version" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "$version: use a release version such as v1.21.14"
	[ -f "$spec" ] || die "$spec does not exist: set KPROV_LAB_SPEC"
	dst=$dir/release/$version/bin/linux/amd64
	mkdir -p "$dst"
	for name in kubeadm kubelet kubectl; do
		t0=$SECONDS
		bin=$(CGO_ENABLED=0 "$root/bootstrap/kubeadm/oracle/build.sh" "$version" "$cache/static/$name-$version" "$name")
		file -b "$bin" | grep -q 'statically linked' || die "$bin is not statically linked: $(file -b "$bin")"
		sum=$(sha256sum "$bin" | cut -d' ' -f1)
		if [ "$(cat "$dst/$name.sha256" 2>/dev/null)" != "$sum" ] || ! cmp -s "$bin" "$dst/$name"; then
			install -m 0755 "$bin" "$dst/.$name.tmp" && mv "$dst/.$name.tmp" "$dst/$name"
			printf '%s' "$sum" >"$dst/.$name.sha256.tmp" && mv "$dst/.$name.sha256.tmp" "$dst/$name.sha256"
		fi
		log "$name $version: $sum ($((SECONDS - t0)) s)"
	done
	build_crictl "$(crictl_version "$version")"
	echo "$dst"
}

# build_crictl CRICTL: crictl from the Go module proxy, packed like the
# cri-tools release: a gzipped tar of the one file crictl, made
# reproducible (sorted, root-owned, mtime 0, no gzip name or time), so a
# rebuild of the same binary keeps the tarball's sha256 and the lock.
build_crictl() {
	local v=$1 bin dst file t0=$SECONDS sum stage
	[[ "$v" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "crictl $v: use a release version such as v1.21.0"
	if ! bin=$(CGO_ENABLED=0 "$root/bootstrap/kubeadm/oracle/build-crictl.sh" "$v" "$cache/static/crictl-$v"); then
		die "no crictl $v: if the Go module proxy does not serve sigs.k8s.io/cri-tools@$v, set artifacts { crictl_version = \"...\" } in $spec to one it serves (or KPROV_CRICTL_VERSION)"
	fi
	file -b "$bin" | grep -q 'statically linked' || die "$bin is not statically linked: $(file -b "$bin")"
	dst=$dir/cri-tools/$v
	file=crictl-$v-linux-amd64.tar.gz
	mkdir -p "$dst"
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	install -m 0755 "$bin" "$stage/crictl"
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$stage" -cf - crictl | gzip -n -9 >"$stage/$file"
	sum=$(sha256sum "$stage/$file" | cut -d' ' -f1)
	if ! cmp -s "$stage/$file" "$dst/$file" || [ "$(cat "$dst/$file.sha256" 2>/dev/null)" != "$sum  $file" ]; then
		install -m 0644 "$stage/$file" "$dst/.$file.tmp" && mv "$dst/.$file.tmp" "$dst/$file"
		printf '%s  %s\n' "$sum" "$file" >"$dst/.$file.sha256.tmp" && mv "$dst/.$file.sha256.tmp" "$dst/$file.sha256"
	fi
	rm -rf "$stage"
	trap - EXIT
	log "crictl $v: $file $sum ($((SECONDS - t0)) s)"
}

# The server: python3's http.server, read-only, on a socket bound with
# IP_FREEBIND (15 on Linux) so the gateway address may come later.
server_py='
import functools, http.server, socket, sys
host, port, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class Server(http.server.ThreadingHTTPServer):
    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_IP, 15, 1)
        super().server_bind()
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
Server((host, port), handler).serve_forever()
'

cmd_serve() {
	local addr=${1:-10.77.0.1:8080}
	[ -d "$dir/release" ] || die "$dir/release does not exist: mirror.sh build first"
	server_start "$addr" /usr/bin/python3 -c "$server_py" "${addr%:*}" "${addr##*:}" "$dir"
}

cmd_status() {
	local pid
	if pid=$(server_alive); then echo "mirror     serving $dir on http://$(cat "$run/addr") in $ns (pid $pid)"; return 0; fi
	echo "mirror     not running"
	return 1
}

case "${1:-}" in
build) shift; cmd_build "$@" ;;
serve) shift; cmd_serve "$@" ;;
stop) server_stop ;;
status) cmd_status ;;
*) echo "usage: mirror.sh build [VERSION] | serve [ADDR:PORT] | stop | status" >&2; exit 2 ;;
esac
