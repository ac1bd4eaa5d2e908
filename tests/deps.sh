#!/usr/bin/env bash
# tests/deps.sh - install what moonbox needs to build and test, from Debian's
# archive, if it is missing. Sourced by tests/quickstart and tests/run.
set -euo pipefail

MB_PACKAGES="build-essential cmake pkg-config dpdk dpdk-dev libdpdk-dev
libluajit-5.1-dev luajit libcmocka-dev libpcap-dev python3 python3-scapy
tcpflow tshark tcpdump man-db groff-base bc curl ethtool iproute2
nftables valgrind"

# Extra packages (tests/analyze's) may be given as arguments.
mb_install_deps() {
	local missing=() p
	for p in $MB_PACKAGES "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "moonbox: installing ${missing[*]}" >&2
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >&2
}

mb_build() {
	local src=$1 build=$2
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$build" -j "$(nproc)"
}
