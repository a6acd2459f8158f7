#!/usr/bin/env bash
# mirror.sh build [VERSION] | serve [ADDR:PORT] | stop | status: the lab's
# artifact mirror, laid out like dl.k8s.io, so that the lab's nodes install
# kubeadm, kubelet and kubectl without leaving the lab's network namespace.
#
#   build   builds static kubeadm, kubelet and kubectl of VERSION (default: the
#           kubernetes_version of examples/lab.hcl) from the Go module proxy
#           (bootstrap/kubeadm/oracle/build.sh, cached) and lays them out as
#           DIR/release/VERSION/bin/linux/amd64/NAME with NAME.sha256 beside
#           each (the bare hex digest, as dl.k8s.io serves it)
#   serve   serves DIR over HTTP inside the lab's namespace on ADDR:PORT
#           (default 10.77.0.1:8080, the lab network's gateway); the address
#           may not exist yet (libvirt adds it with the network), so the
#           socket binds with IP_FREEBIND. Stops by itself after
#           KPROV_MIRROR_TTL (default 8h). Idempotent.
#   stop    stops the server by its recorded PID; idempotent
#   status  prints whether the server runs (exit 0 if so)
#
# Environment: KPROV_MIRROR_DIR (default /var/lib/kprov/mirror),
# KPROV_LAB_NETNS (default kprov-lab), KPROV_CACHE (build cache).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ns=${KPROV_LAB_NETNS:-kprov-lab}
dir=${KPROV_MIRROR_DIR:-/var/lib/kprov/mirror}
run=/run/kprov-mirror/$ns
cache=${KPROV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kprov}
ttl=${KPROV_MIRROR_TTL:-8h}

log() { printf 'mirror: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# lab_version: kubernetes_version of examples/lab.hcl, in kubeadm's v form.
lab_version() {
	local v
	v=$(sed -n 's/^\s*kubernetes_version\s*=\s*"\([^"]*\)".*/\1/p' "$root/examples/lab.hcl" | head -n1)
	[ -n "$v" ] || die "no kubernetes_version in examples/lab.hcl: pass VERSION"
	echo "v${v#v}"
}

cmd_build() {
	local version=${1:-$(lab_version)} name bin dst t0 sum
	[[ "$version" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "$version: use a release version such as v1.21.14"
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
	echo "$dst"
}

# alive: the server's PID if it still runs and is ours (comm timeout).
alive() {
	local pid
	pid=$(cat "$run/server.pid" 2>/dev/null) || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = timeout ] || return 1
	[ "$(ip netns identify "$pid" 2>/dev/null)" = "$ns" ] || return 1
	echo "$pid"
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
	local addr=${1:-10.77.0.1:8080} pid i host port
	host=${addr%:*} port=${addr##*:}
	[[ "$port" =~ ^[0-9]+$ && -n "$host" ]] || die "$addr: use ADDRESS:PORT"
	[ "$(id -u)" = 0 ] || die "run as root (ip netns exec)"
	[ -e "/run/netns/$ns" ] || die "namespace $ns does not exist: provision/lab/lab.sh up first"
	[ -d "$dir/release" ] || die "$dir/release does not exist: mirror.sh build first"
	if pid=$(alive); then
		log "already serving $dir on $(cat "$run/addr") (pid $pid)"
		return 0
	fi
	mkdir -p "$run"
	setsid ip netns exec "$ns" timeout "$ttl" /usr/bin/python3 -c "$server_py" "$host" "$port" "$dir" \
		</dev/null >"$run/server.log" 2>&1 &
	pid=$!
	echo "$pid" >"$run/server.pid"
	echo "$addr" >"$run/addr"
	# Bounded wait for the listening socket: 50 tries, 0.1 s apart.
	for ((i = 0; i < 50; i++)); do
		if ip netns exec "$ns" ss -Hltn "sport = :$port" | grep -qF "$host:$port"; then
			log "serving $dir on http://$addr in namespace $ns (pid $pid, stops after $ttl)"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$run/server.log" >&2 || true
	cmd_stop
	die "the server did not listen on $addr"
}

cmd_stop() {
	local pid i
	if ! pid=$(alive); then
		rm -rf "$run"
		log "not running"
		return 0
	fi
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid ignored SIGTERM for 5 s: SIGKILL"
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -rf "$run"
	log "stopped (pid $pid)"
}

cmd_status() {
	local pid
	if pid=$(alive); then echo "mirror     serving $dir on http://$(cat "$run/addr") in $ns (pid $pid)"; return 0; fi
	echo "mirror     not running"
	return 1
}

case "${1:-}" in
build) shift; cmd_build "$@" ;;
serve) shift; cmd_serve "$@" ;;
stop) cmd_stop ;;
status) cmd_status ;;
*) echo "usage: mirror.sh build [VERSION] | serve [ADDR:PORT] | stop | status" >&2; exit 2 ;;
esac
