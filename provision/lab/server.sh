# server.sh: sourced by mirror.sh and registry.sh. One long-running server
# per script and lab namespace: started inside the namespace with setsid and
# a time limit, recorded by PID in $run, found again only while that PID is
# still our `timeout` in the namespace, and stopped by it.
# The sourcing script sets ns, run, ttl and dir, and defines log and die.

# server_alive: the server's PID if it still runs and is ours (comm
# timeout, in the lab's namespace; a recycled PID is not ours).
server_alive() {
	local pid
	pid=$(cat "$run/server.pid" 2>/dev/null) || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = timeout ] || return 1
	[ "$(ip netns identify "$pid" 2>/dev/null)" = "$ns" ] || return 1
	echo "$pid"
}

# server_start ADDR:PORT CMD...: unless the server runs already, runs CMD
# in the namespace for at most $ttl and waits (5 s at most) until it
# listens on ADDR:PORT; on failure shows its log, stops it and dies.
server_start() {
	local addr=$1 pid i host port
	shift
	host=${addr%:*} port=${addr##*:}
	[[ "$port" =~ ^[0-9]+$ && -n "$host" ]] || die "$addr: use ADDRESS:PORT"
	[ "$(id -u)" = 0 ] || die "run as root (ip netns exec)"
	[ -e "/run/netns/$ns" ] || die "namespace $ns does not exist: provision/lab/lab.sh up first"
	if pid=$(server_alive); then
		log "already serving $dir on $(cat "$run/addr") (pid $pid)"
		return 0
	fi
	mkdir -p "$run"
	setsid ip netns exec "$ns" timeout "$ttl" "$@" </dev/null >"$run/server.log" 2>&1 &
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
	server_stop
	die "the server did not listen on $addr"
}

# server_stop: SIGTERM, 5 s, then SIGKILL; idempotent.
server_stop() {
	local pid i
	if ! pid=$(server_alive); then
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
