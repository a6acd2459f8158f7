#!/usr/bin/env bash
# lab.sh up|down [--force]|status|exec CMD...: the lab's libvirt daemons in a
# network namespace, so that libvirt's networks, dnsmasq, the VMs and SSH to
# them never reach anything but that namespace.
#
#   up      create the namespace, start virtlogd and libvirtd inside it, wait
#           until `virsh -c qemu:///system version` answers there
#   down    stop the daemons (and the dnsmasq of the lab's libvirt networks) by
#           PID, delete the namespace, restore /dev/kvm; idempotent. Refuses
#           while VMs run (`kprov down` removes them); --force destroys them.
#   status  print whether the namespace and the daemons are up (exit 0 if so)
#   restart-libvirtd  stop libvirtd (SIGTERM; VMs keep running) and start it
#           again, as a host upgrade or crash would (for fault tests)
#   exec    run CMD inside the namespace, e.g. `lab.sh exec kprov up lab.hcl`
#   weigh   give every control plane's QEMU the larger CPU share (below);
#           up starts it in the background every 5 s until down
#
# Contract: inside the namespace, `virsh -c qemu:///system` reaches the lab's
# libvirtd. Environment: KPROV_LAB_NETNS (namespace name, default kprov-lab).
set -euo pipefail

ns=${KPROV_LAB_NETNS:-kprov-lab}
run=/run/kprov-lab/$ns # PIDs and the original /dev/kvm mode, for down
uri=qemu:///system
kvm=/dev/kvm

log() { printf 'lab: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (ip netns, libvirtd)"; }
ns_exists() { [ -e "/run/netns/$ns" ]; }
in_ns() { ip netns exec "$ns" "$@"; }

# alive PIDFILE COMM: print the PID recorded in PIDFILE if that process still
# runs and is COMM (a recycled PID is not ours).
alive() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
	echo "$pid"
}

# stop PID NAME: SIGTERM, wait up to 10 s, then SIGKILL.
stop() {
	local pid=$1 name=$2 i
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || { log "stopped $name (pid $pid)"; return 0; }
		sleep 0.2
	done
	log "$name (pid $pid) ignored SIGTERM for 10 s: SIGKILL"
	kill -9 "$pid" 2>/dev/null || true
}

# pids_in_ns: every process whose network namespace is the lab's.
pids_in_ns() {
	if ns_exists; then ip netns pids "$ns" 2>/dev/null || true; fi
}

# qemu_pids: QEMU processes libvirt started inside the lab's namespace.
qemu_pids() {
	local pid
	for pid in $(pids_in_ns); do
		case "$(cat "/proc/$pid/comm" 2>/dev/null)" in qemu-system-*) echo "$pid" ;; esac
	done
}

# Each QEMU runs in a session of its own, so the kernel's autogroup scheduling
# gives a 2-vCPU control plane the same CPU share as a 1-vCPU worker: when
# calico-node starts on every node at once, the API server starves and
# crash-loops. On a host with systemd-machined, libvirt's <cputune><shares>
# would weigh them; here libvirt reports "cgroup CPU controller is not
# mounted". So the lab weighs them itself: a control plane's autogroup gets
# nice -5 (weight 3121 against a worker's 1024: three fifths of the host against two 1-vCPU workers; at -10 the workers got so little that SSH handshakes timed out), read from the role kprov
# writes in the domain's metadata.
weigh_once() {
	local pid name want
	for pid in $(qemu_pids); do
		name=$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 's/^guest=\([^,]*\).*/\1/p' | head -n1)
		[ -n "$name" ] || continue
		want=0
		grep -qs 'role="control-plane"' "/run/libvirt/qemu/$name.xml" && want=-5
		grep -qs "nice $want\$" "/proc/$pid/autogroup" && continue
		echo "$want" >"/proc/$pid/autogroup" 2>/dev/null && log "weigh: $name (pid $pid) autogroup nice $want"
	done
}

# cmd_weigh: weigh_once every 5 s while libvirtd runs; bounded to 8 hours.
cmd_weigh() {
	need_root
	local end=$((SECONDS + 8 * 3600))
	while [ "$SECONDS" -lt "$end" ] && alive "$run/libvirtd.pid" libvirtd >/dev/null; do
		weigh_once
		sleep 5
	done
}

# weigher_pid: the PID of the running `lab.sh weigh`, if any.
weigher_pid() {
	local pid
	pid=$(alive "$run/weigher.pid" bash) || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'lab\.sh weigh' || return 1
	echo "$pid"
}

# start_weigher: cmd_weigh in the background, once.
start_weigher() {
	weigher_pid >/dev/null && return 0
	setsid "$0" weigh >>"$run/weigher.log" 2>&1 </dev/null &
	echo $! >"$run/weigher.pid"
}

cmd_up() {
	need_root
	for tool in ip virtlogd libvirtd virsh; do
		command -v "$tool" >/dev/null || die "$tool not found: apt-get install libvirt-daemon-system qemu-system-x86 iproute2"
	done
	local pid other
	if pid=$(alive "$run/libvirtd.pid" libvirtd); then
		log "already up: libvirtd pid $pid in namespace $ns"
		in_ns virsh -c "$uri" version >/dev/null || die "libvirtd (pid $pid) does not answer: lab.sh down, then up"
		start_weigher
		return 0
	fi
	# One libvirtd per host: its sockets and /run/libvirt are not per namespace.
	for d in libvirtd virtlogd; do
		other=$(pgrep -x "$d" | grep -vx "$(alive "$run/$d.pid" "$d" || echo none)" | head -n1 || true)
		[ -z "$other" ] || die "another $d already runs (pid $other, $(ip netns identify "$other" 2>/dev/null | sed 's/^$/host namespace/')): stop it first (systemctl stop $d $d.socket, or lab.sh down)"
	done
	mkdir -p "$run"

	if ! ns_exists; then
		ip netns add "$ns"
		log "created network namespace $ns"
	fi
	ip -n "$ns" link set lo up

	# A root:root 0600 /dev/kvm makes libvirt's capability probe (and so every
	# define) take a minute; Debian's usual root:kvm 0660 for the lab's lifetime.
	if [ -e "$kvm" ] && [ ! -f "$run/kvm-mode" ] && [ "$(stat -c '%U:%G %a' "$kvm")" = "root:root 600" ]; then
		echo "root:root 600" >"$run/kvm-mode"
		chown root:kvm "$kvm"
		chmod 0660 "$kvm"
		log "$kvm is root:kvm 0660 until lab.sh down"
	fi

	# Without systemd's socket activation libvirtd does not spawn virtlogd.
	alive "$run/virtlogd.pid" virtlogd >/dev/null || in_ns virtlogd -d --pid-file "$run/virtlogd.pid"
	in_ns libvirtd -d --pid-file "$run/libvirtd.pid"

	# Bounded wait: 120 tries, 0.5 s apart, and 90 s in all.
	local i t0=$SECONDS
	for ((i = 0; i < 120 && SECONDS - t0 < 90; i++)); do
		if in_ns timeout 30 virsh -c "$uri" version >/dev/null 2>&1; then
			log "up: namespace $ns, virtlogd pid $(cat "$run/virtlogd.pid"), libvirtd pid $(cat "$run/libvirtd.pid") ($((SECONDS - t0)) s)"
			start_weigher
			return 0
		fi
		alive "$run/libvirtd.pid" libvirtd >/dev/null || [ "$i" -lt 10 ] || die "libvirtd exited: see /var/log/libvirt or run it in the foreground with lab.sh exec libvirtd"
		sleep 0.5
	done
	die "libvirtd did not answer within $((SECONDS - t0)) s (virsh -c $uri version): lab.sh down"
}

cmd_restart_libvirtd() {
	need_root
	local pid
	if pid=$(alive "$run/libvirtd.pid" libvirtd); then stop "$pid" libvirtd; fi
	cmd_up
}

cmd_down() {
	need_root
	local force=${1:-} pid f
	# Running VMs belong to `kprov down`; stopping libvirtd under them would
	# leave QEMU processes in a namespace nobody manages.
	if [ -n "$(qemu_pids)" ]; then
		if [ "$force" != --force ]; then
			log "VMs still run in namespace $ns (QEMU pids: $(qemu_pids | tr '\n' ' '))"
			alive "$run/libvirtd.pid" libvirtd >/dev/null && in_ns virsh -c "$uri" list --name | sed '/^$/d; s/^/  /' >&2
			die "run kprov down first, or lab.sh down --force to destroy them"
		fi
		if alive "$run/libvirtd.pid" libvirtd >/dev/null; then
			for d in $(in_ns virsh -c "$uri" list --name); do
				in_ns virsh -c "$uri" destroy "$d" >/dev/null && log "destroyed domain $d (still defined)"
			done
		fi
		for pid in $(qemu_pids); do stop "$pid" "qemu"; done
	fi

	# dnsmasq of the lab's networks: libvirt leaves them running when it stops.
	for f in /run/libvirt/network/*.pid; do
		[ -f "$f" ] || continue
		pid=$(alive "$f" dnsmasq) || continue
		[ "$(ip netns identify "$pid" 2>/dev/null)" = "$ns" ] || continue
		stop "$pid" "dnsmasq $(basename "$f" .pid)"
	done
	if pid=$(weigher_pid); then stop "$pid" weigher; fi
	if pid=$(alive "$run/libvirtd.pid" libvirtd); then stop "$pid" libvirtd; fi
	if pid=$(alive "$run/virtlogd.pid" virtlogd); then stop "$pid" virtlogd; fi

	if ns_exists; then
		# Helpers of what was stopped (dnsmasq's) exit on their own: wait up to 5 s.
		local left i
		for ((i = 0; i < 25; i++)); do
			left=$(pids_in_ns | tr '\n' ' ')
			[ -n "$left" ] || break
			sleep 0.2
		done
		[ -z "$left" ] || die "processes not started by the lab still use namespace $ns (pids: $left): stop them, then lab.sh down"
		ip netns del "$ns"
		log "deleted network namespace $ns"
	fi
	if [ -f "$run/kvm-mode" ]; then
		read -r owner mode <"$run/kvm-mode"
		chown "$owner" "$kvm" && chmod "$mode" "$kvm"
		log "$kvm restored to $owner $mode"
	fi
	rm -rf "$run"
	log "down"
}

cmd_status() {
	local up=0 pid
	if ns_exists; then echo "namespace  $ns: present"; else echo "namespace  $ns: absent"; up=1; fi
	for d in virtlogd libvirtd; do
		if pid=$(alive "$run/$d.pid" "$d"); then echo "$d   pid $pid"; else echo "$d   not running"; up=1; fi
	done
	if [ "$up" = 0 ] && in_ns timeout 10 virsh -c "$uri" version --daemon >/dev/null 2>&1; then
		echo "virsh      $uri answers in $ns"
		echo "domains    $(in_ns virsh -c "$uri" list --name | sed '/^$/d' | tr '\n' ' ')"
	else
		echo "virsh      $uri does not answer in $ns"
		up=1
	fi
	[ ! -f "$run/kvm-mode" ] || echo "/dev/kvm   $(stat -c '%U:%G %a' "$kvm") (restored to $(cat "$run/kvm-mode") by down)"
	return "$up"
}

cmd_exec() {
	[ "$#" -gt 0 ] || die "usage: lab.sh exec CMD [ARG...]"
	ns_exists || die "namespace $ns does not exist: lab.sh up first"
	exec ip netns exec "$ns" "$@"
}

case "${1:-}" in
up) cmd_up ;;
down) shift; cmd_down "$@" ;;
status) cmd_status ;;
restart-libvirtd) cmd_restart_libvirtd ;;
exec) shift; cmd_exec "$@" ;;
weigh) cmd_weigh ;;
*) echo "usage: lab.sh up|down [--force]|status|weigh|exec CMD..." >&2; exit 2 ;;
esac
