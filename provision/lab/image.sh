#!/usr/bin/env bash
# image.sh [OUT]: build the kprov lab node image (Debian bookworm, qcow2) from
# Debian's packages only. See shared/notes/lab-facts.md for why each step is so.
#
#   1. debootstrap --variant=minbase with packages/base.list
#   2. apt-get install --no-install-recommends packages/node.list in the chroot
#      (debootstrap's resolver fails on cloud-init's virtual dependencies)
#   3. configure: small zstd initramfs, cloud-init (NoCloud, networkd), fstab,
#      extlinux.conf; no SSH host keys, empty machine-id
#   4. raw disk: MBR + one ext4 partition labelled "root" (mkfs.ext4 -d),
#      extlinux + syslinux mbr.bin; then qemu-img convert -O qcow2
#
# The image is cached by the sha256 of this recipe (this script and its package
# lists), kept in OUT.recipe. It is built under a temporary name and renamed,
# because QEMU holds a write lock on an image that running VMs use.
#
# Environment: KPROV_LAB_MIRROR (Debian mirror URL; default: the host's own
# apt source for bookworm), KPROV_LAB_IMAGE_SIZE (raw disk size, default 2G;
# the guest's growpart fills the larger overlay at first boot), TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-/var/lib/kprov/images/kprov-lab-bookworm.qcow2}
suite=bookworm
size=${KPROV_LAB_IMAGE_SIZE:-2G}
part_start=2048 # sectors: the partition starts at 1 MiB

log() { printf 'image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot and loop devices need it)"
for tool in debootstrap chroot sfdisk losetup mkfs.ext4 extlinux qemu-img sha256sum; do
	command -v "$tool" >/dev/null || die "$tool not found: apt-get install debootstrap extlinux syslinux-common qemu-utils e2fsprogs fdisk"
done
mbr=/usr/lib/syslinux/mbr/mbr.bin
[ -r "$mbr" ] || die "$mbr not found: apt-get install syslinux-common"

# Package lists: one name a line, # comments.
read_list() { sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1"; }
mapfile -t base_pkgs < <(read_list "$here/packages/base.list")
mapfile -t node_pkgs < <(read_list "$here/packages/node.list")

# The cache key: the recipe, not its output (the mirror moves on).
recipe=$(cat "${BASH_SOURCE[0]}" "$here/packages/base.list" "$here/packages/node.list" | sha256sum | cut -d' ' -f1)
if [ -f "$out" ] && [ "$(cat "$out.recipe" 2>/dev/null)" = "$recipe" ]; then
	log "up to date (recipe $recipe)"
	echo "$out"
	exit 0
fi

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

start=$(date +%s)
mkdir -p "$(dirname "$out")"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/kprov-image.XXXXXX")
rootfs=$work/rootfs
mnt=$work/mnt
loop=""
tmp_out="$out.tmp.$$"

# Undo in reverse order whatever was set up; safe to run at any point.
cleanup() {
	set +e
	mountpoint -q "$mnt" && umount "$mnt"
	[ -n "$loop" ] && losetup -d "$loop"
	for m in dev/pts dev proc sys; do
		mountpoint -q "$rootfs/$m" && umount -l "$rootfs/$m"
	done
	rm -rf "$work" "$tmp_out"
}
trap cleanup EXIT

phase() { log "$1 ($(($(date +%s) - start)) s)"; }

phase "debootstrap $suite minbase from $mirror"
debootstrap --variant=minbase --include="$(IFS=,; echo "${base_pkgs[*]}")" \
	"$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
	{ tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

# Configuration written before phase 2, so packages install into it once.
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
# A small initramfs: only the drivers the lab's boot path needs (NVMe or
# virtio root, virtio-scsi cdrom for the cidata seed), zstd-compressed.
mkdir -p "$rootfs/etc/initramfs-tools/conf.d"
cat >"$rootfs/etc/initramfs-tools/conf.d/kprov.conf" <<'EOF'
MODULES=list
COMPRESS=zstd
EOF
cat >"$rootfs/etc/initramfs-tools/modules" <<'EOF'
nvme
virtio_pci
virtio_blk
virtio_scsi
virtio_net
sd_mod
sr_mod
isofs
crc32c_generic
ext4
EOF
# Services must not start inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 0755 "$rootfs/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
mount -t proc proc "$rootfs/proc"
mount -t sysfs sys "$rootfs/sys"
mount --bind /dev "$rootfs/dev"
mount --bind /dev/pts "$rootfs/dev/pts"

phase "apt-get install ${#node_pkgs[@]} packages"
in_root() { LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$rootfs" "$@"; }
in_root apt-get update -qq >"$work/apt.log" 2>&1 ||
	{ tail -n 20 "$work/apt.log" >&2; die "apt-get update failed"; }
in_root apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${node_pkgs[@]}" >>"$work/apt.log" 2>&1 ||
	{ tail -n 20 "$work/apt.log" >&2; die "apt-get install failed"; }

phase "configure"
kver=$(find "$rootfs/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n1)
[ -n "$kver" ] || die "no kernel installed in /boot"
[ -f "$rootfs/boot/initrd.img-$kver" ] || die "no initramfs for $kver"

# cloud-init: the NoCloud seed (cidata) or nothing; systemd-networkd renders
# the network; the image has no locales package.
cat >"$rootfs/etc/cloud/cloud.cfg.d/90-kprov.cfg" <<'EOF'
datasource_list: [ NoCloud, None ]
system_info:
  network:
    renderers: [ networkd ]
locale: false
EOF
in_root systemctl enable systemd-networkd.service ssh.service >/dev/null 2>&1
# Key-only SSH from the start, in the file cloud-init's ssh_pwauth: false
# writes: it then finds nothing to change and does not restart sshd under
# the first SSH session.
printf 'PasswordAuthentication no\n' >"$rootfs/etc/ssh/sshd_config.d/50-cloud-init.conf"
chmod 0600 "$rootfs/etc/ssh/sshd_config.d/50-cloud-init.conf"
echo 'LABEL=root / ext4 errors=remount-ro 0 1' >"$rootfs/etc/fstab"
# Per-instance identity comes at boot: machine-id, host keys, hostname.
: >"$rootfs/etc/machine-id"
rm -f "$rootfs/var/lib/dbus/machine-id" "$rootfs/etc/ssh/ssh_host_"*
echo localhost >"$rootfs/etc/hostname"
mkdir -p "$rootfs/boot/extlinux"
# nvme_core.io_timeout: under software emulation on a loaded host QEMU can
# leave an NVMe request unanswered for more than the driver's 30 s; the
# driver then aborts and resets the controller, which QEMU 7.2 did not
# survive in CI (every later read timed out and the root file system never
# mounted). Wait up to 10 minutes instead.
# tsc=reliable: QEMU's TCG gives no invariant-TSC flag, so the kernel
# marks the TSC unstable and keeps time with the HPET, whose every read
# is an emulated MMIO access under QEMU's global lock and a system call
# (no vDSO): Go programs read the clock constantly, and a control plane
# spent 40% of its CPU in the kernel and lost its API server. TCG's TSC
# follows the host clock on every vCPU, so trusting it is sound here.
cat >"$rootfs/boot/extlinux/extlinux.conf" <<EOF
DEFAULT linux
TIMEOUT 0
PROMPT 0
LABEL linux
  KERNEL /boot/vmlinuz-$kver
  INITRD /boot/initrd.img-$kver
  APPEND root=LABEL=root ro console=tty0 console=ttyS0,115200 nvme_core.io_timeout=600 tsc=reliable
EOF
# Leave the chroot clean: no host resolver, no policy, no apt caches.
in_root apt-get clean
rm -rf "$rootfs/var/lib/apt/lists/"* "$rootfs/var/cache/apt/"*.bin "$rootfs/var/log/"*.log \
	"$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/resolv.conf"
for m in dev/pts dev proc sys; do umount "$rootfs/$m"; done

phase "disk: MBR + ext4 'root' ($size), extlinux"
raw=$work/disk.raw
truncate -s "$size" "$raw"
printf 'label: dos\nstart=%s, type=83, bootable\n' "$part_start" | sfdisk -q "$raw"
part_sectors=$(sfdisk -l -o Sectors "$raw" | awk 'END { print $1 }')
# losetup -P makes no partition nodes in some sandboxes: map the partition itself.
loop=$(losetup -f --show -o $((part_start * 512)) --sizelimit $((part_sectors * 512)) "$raw")
# ^64bit: syslinux cannot read 64-bit ext4.
mkfs.ext4 -q -L root -O ^64bit -d "$rootfs" "$loop"
mkdir -p "$mnt"
mount "$loop" "$mnt"
extlinux --install "$mnt/boot/extlinux" >/dev/null 2>&1 || die "extlinux --install failed"
umount "$mnt"
losetup -d "$loop"
loop=""
dd if="$mbr" of="$raw" bs=440 count=1 conv=notrunc status=none

phase "qemu-img convert -O qcow2"
qemu-img convert -O qcow2 "$raw" "$tmp_out"
mv -f "$tmp_out" "$out"
echo "$recipe" >"$out.recipe"

sum=$(sha256sum "$out" | cut -d' ' -f1)
log "built $out in $(($(date +%s) - start)) s: kernel $kver, $(du -h --apparent-size "$out" | cut -f1), sha256 $sum"
echo "$out"
