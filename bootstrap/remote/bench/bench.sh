#!/usr/bin/env bash
# bench.sh [N]: time kprov's SSH engine against Ansible on N (default 20)
# sshd hosts, all inside a network namespace this script makes. It also
# makes a login user with passwordless sudo, and removes both, and every
# process left in the namespace (by PID), on exit. Needs root, sshd,
# sudo and ansible (apt-get install -y openssh-server sudo ansible).
set -euo pipefail
n=${1:-20}
[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root" >&2; exit 1; }
for p in ip /usr/sbin/sshd sudo useradd ansible-playbook go; do
	command -v "$p" >/dev/null || { echo "bench.sh: $p missing: apt-get install -y iproute2 openssh-server sudo ansible" >&2; exit 1; }
done
here=$(cd "$(dirname "$0")" && pwd)
ns=kprov-bench-$$
user=kprovb$$
work=$(mktemp -d /tmp/kprov-bench.XXXXXX)
chmod 755 "$work"

cleanup() {
	for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
	ip netns del "$ns" 2>/dev/null || true
	userdel --remove "$user" 2>/dev/null || true
	rm -f "/etc/sudoers.d/$user"
	[ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

(cd "$here" && go build -o "$work/bench" .)
ip netns add "$ns"
ip -n "$ns" link set lo up
useradd --create-home --password '*' --shell /bin/sh "$user"
echo "$user ALL=(ALL) NOPASSWD: ALL" >"/etc/sudoers.d/$user"
chmod 440 "/etc/sudoers.d/$user"
# The whole run is bounded; ANSIBLE_HOME keeps Ansible's files in $work.
ANSIBLE_HOME=$work/ansible-home timeout 30m ip netns exec "$ns" "$work/bench" -n "$n" -user "$user" -work "$work"
