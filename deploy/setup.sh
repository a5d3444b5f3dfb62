#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Prepare a Debian 12 host for RawFlow: packages, hugepages, hugetlbfs and
# bpffs. Idempotent: every step checks first and says what it did or why it
# skipped. Run as root.
#
#   deploy/setup.sh [--hugepages N] [--no-hugepages] [--help]
set -euo pipefail

HUGEPAGES=${RF_HUGEPAGES:-512}   # 2 MiB pages: 1 GiB for chunk stores and mbufs

PACKAGES=(
	# build
	build-essential meson ninja-build pkg-config clang llvm lld
	libclang-rt-14-dev
	# libraries
	libsodium-dev libcurl4-openssl-dev libdpdk-dev dpdk dpdk-dev libbpf-dev
	libxdp-dev bpftool linux-libc-dev libhiredis-dev libcriterion-dev
	# runtime: redis for the grid, ffmpeg for test media, netns tooling
	redis-server ffmpeg iproute2 ethtool python3 procps
)

usage() {
	sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'
	cat <<'USAGE'
Options:
  --hugepages N    reserve N 2 MiB hugepages (default 512, env RF_HUGEPAGES)
  --no-hugepages   leave hugepages alone (the kernel backend needs none)
  --help           this text
USAGE
}

say() { printf 'setup: %s\n' "$*"; }

while [ $# -gt 0 ]; do
	case "$1" in
	--hugepages) HUGEPAGES=${2:?--hugepages needs a number}; shift 2 ;;
	--no-hugepages) HUGEPAGES=0; shift ;;
	--help|-h) usage; exit 0 ;;
	*) echo "setup: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
done
case "$HUGEPAGES" in ''|*[!0-9]*) echo "setup: --hugepages wants a whole number, got '$HUGEPAGES'" >&2; exit 2 ;; esac

if [ "$(id -u)" -ne 0 ]; then
	echo "setup: must run as root (packages, hugepages and mounts need it)" >&2
	exit 1
fi

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		say "packages: all ${#PACKAGES[@]} present, skipped"
		return
	fi
	say "packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
	say "packages: installed ${#missing[@]}"
}

reserve_hugepages() {
	local have
	if [ "$HUGEPAGES" -eq 0 ]; then
		say "hugepages: skipped (--no-hugepages)"
		return
	fi
	have=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$have" -ge "$HUGEPAGES" ]; then
		say "hugepages: $have reserved (wanted $HUGEPAGES), skipped"
		return
	fi
	echo "$HUGEPAGES" > /proc/sys/vm/nr_hugepages
	have=$(cat /proc/sys/vm/nr_hugepages)
	if [ "$have" -lt "$HUGEPAGES" ]; then
		say "hugepages: only $have of $HUGEPAGES could be reserved (memory fragmented); DPDK will use what there is"
	else
		say "hugepages: reserved $have x 2 MiB"
	fi
}

mount_fs() { # type mountpoint
	if findmnt -t "$1" "$2" >/dev/null 2>&1; then
		say "$1: already mounted on $2, skipped"
		return
	fi
	mkdir -p "$2"
	mount -t "$1" "$1" "$2"
	say "$1: mounted on $2"
}

install_packages
reserve_hugepages
[ "$HUGEPAGES" -eq 0 ] || mount_fs hugetlbfs /dev/hugepages
mount_fs bpf /sys/fs/bpf
say "done"
