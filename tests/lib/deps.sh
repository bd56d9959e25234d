#!/bin/bash
# Install every Debian package btrsend needs to build, test and demo.
# Idempotent and quiet: apt runs only when something is missing.
set -euo pipefail

PKGS=(
	build-essential pkg-config clang libclang-rt-14-dev
	libevent-dev libssl-dev libbtrfsutil-dev uuid-dev libsystemd-dev
	libcmocka-dev libisal-dev libzstd-dev zlib1g-dev liblzo2-dev
	libseccomp-dev libcap-dev
	btrfs-progs util-linux attr acl libcap2-bin xxd openssl curl
	systemd man-db groff-base e2fsprogs time python3 procps
	openssh-server openssh-client
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]} (run 'make deps' as root)" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
