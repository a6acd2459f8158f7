#!/usr/bin/env bash
# rootfs.sh DIR PACKAGE...: a small Debian root filesystem for the lab's
# container images that need userland (kube-proxy, calico-node), in DIR
# (which must not exist). Run by `images build` (provision/lab/images), which
# tars DIR into one reproducible layer cached by the hash of this script,
# the suite and the package list. Same two phases as the node image
# (provision/lab/image.sh): debootstrap --variant=minbase, then
# apt-get install --no-install-recommends inside the chroot.
#
# Environment: SUITE (default bookworm), KPROV_LAB_MIRROR (Debian mirror URL;
# default: the host's own apt source for SUITE), TMPDIR.
set -euo pipefail

rootfs=${1:?usage: rootfs.sh DIR PACKAGE...}
shift
suite=${SUITE:-bookworm}

log() { printf 'rootfs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
[ ! -e "$rootfs" ] || die "$rootfs exists: give a new folder"

# host_uri SUITE: the first URI the host's apt uses for SUITE (deb822 or
# one-line sources), so the build uses the mirror this machine can reach.
host_uri() {
	local want=$1 f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v want="$want" '
			/^[[:space:]]*$/ { if (uri != "" && hit) { print uri; exit } uri = ""; hit = 0; next }
			/^URIs:/   { uri = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == want) hit = 1 }
			END        { if (uri != "" && hit) print uri }' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		sed -e 's/\[[^]]*\]//' "$f" | awk -v want="$want" '$1 == "deb" && $3 == want { print $2 }'
	done
}
mirror=${KPROV_LAB_MIRROR:-$(host_uri "$suite" | head -n1)}
[ -n "$mirror" ] || die "no apt source for $suite on this host: set KPROV_LAB_MIRROR"
security=$(host_uri "$suite-security" | head -n1)

log=$(mktemp "${TMPDIR:-/var/tmp}/kprov-rootfs.XXXXXX.log")
cleanup() {
	set +e
	for m in dev/pts dev proc sys; do
		mountpoint -q "$rootfs/$m" && umount -l "$rootfs/$m"
	done
	rm -f "$log"
}
trap cleanup EXIT

log "debootstrap $suite minbase from $mirror"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; die "debootstrap failed"; }

{
	echo "deb $mirror $suite main"
	echo "deb $mirror $suite-updates main"
	[ -z "$security" ] || echo "deb $security $suite-security main"
} >"$rootfs/etc/apt/sources.list"
# No docs, man pages or translations in the image.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/01-kprov-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
# Services must not start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
mount -t proc proc "$rootfs/proc"
mount -t sysfs sys "$rootfs/sys"
mount --bind /dev "$rootfs/dev"
mount --bind /dev/pts "$rootfs/dev/pts"

log "apt-get install $*"
# TMPDIR is a path outside the chroot: maintainer scripts (runit's) use it.
in_root() { LC_ALL=C DEBIAN_FRONTEND=noninteractive TMPDIR=/tmp chroot "$rootfs" "$@"; }
in_root apt-get update -qq >>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "apt-get update failed"; }
in_root apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"$@" >>"$log" 2>&1 || { tail -n 60 "$log" >&2; die "apt-get install failed"; }
in_root apt-get clean
for m in dev/pts dev proc sys; do umount "$rootfs/$m"; done

# debootstrap's packages came before the no-docs rule: apply it to them.
find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs/usr/share/man/"* "$rootfs/usr/share/info/"*
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +

# What a container gets from its runtime (resolv.conf, hosts, hostname) or
# must not share (machine-id), and what only the build needed.
rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"* "$rootfs/var/cache/debconf/"*-old \
	"$rootfs/var/log/"* "$rootfs/tmp/"* "$rootfs/var/tmp/"* \
	"$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/resolv.conf" "$rootfs/etc/machine-id" \
	"$rootfs/etc/hostname" "$rootfs/var/lib/dpkg/"*-old
: >"$rootfs/etc/resolv.conf"
log "done: $(du -sh "$rootfs" | cut -f1)"
