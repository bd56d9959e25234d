# Sourced by every integration test and script: paths, helpers and the
# loopback-btrfs fixture.  A test calls `fixture_init` once, then
# `btrfs_fs VAR [SIZE] [MOUNT_OPTS]` for each filesystem it needs.
# Everything made is torn down on exit, failure or interruption.
#
# For the subvolumes a test received:
#   subvol_uuid PATH             the UUID of subvolume PATH
#   subvol_field PATH FIELD      the value of FIELD ("Received UUID",
#                                "Parent UUID", ...) in `btrfs
#                                subvolume show PATH`
#   check_received SRC GOT       GOT equals SRC (treecmp, root times
#                                ignored, as after any incremental
#                                receive), is read-only and has SRC's
#                                uuid as its received uuid, or fail
#
# Exit codes of a test: 0 pass, 1 fail, 77 skip (never under CI=true).
#
# B names the build under test, by default the test build (make
# TESTING=1): integration tests use its hooks (proto/base/testing.h).

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-build-test}
BIN=$TOP/$B
CTL=$BIN/btrsendctl
BTRSENDD=$BIN/btrsendd
TOOLS=$BIN/tests
export LC_ALL=C TZ=UTC

FIX_DIR=
FIX_MOUNTS=()
FIX_LOOPS=()
FIX_PIDS=()

fail() { echo "FAIL: $*" >&2; exit 1; }
note() { echo "# $*" >&2; }

# Skip, or under CI fail loudly: CI must never pass by skipping.
skip() {
	if [ -n "${CI:-}" ]; then
		echo "FAIL (would skip, but CI is set): $*" >&2
		exit 1
	fi
	echo "SKIP: $*" >&2
	exit 77
}

# Unmount, detach and remove everything of one fixture directory.
fixture_teardown_dir() {
	local dir=$1 m l
	[ -d "$dir" ] || return 0
	if [ -f "$dir/.mounts" ]; then
		tac "$dir/.mounts" | while read -r m; do
			# progress records of partials left here (apply_progress.c)
			find "$m" -name '*.progress' -type f -printf '%D %i\n' 2>/dev/null |
				while read -r dev ino; do
					rm -f "$(printf '%s/%x.%x' \
					    "${BTRSEND_TEST_PROGRESS_DIR:-/run/btrsend/progress}" \
					    "$dev" "$ino")"
				done
			umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
		done
	fi
	if [ -f "$dir/.loops" ]; then
		while read -r l; do losetup -d "$l" 2>/dev/null || true; done < "$dir/.loops"
	fi
	rm -rf "$dir"
}

fixture_cleanup() {
	local p
	for p in "${FIX_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
	for p in "${FIX_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[ -n "$FIX_DIR" ] && fixture_teardown_dir "$FIX_DIR"
	FIX_DIR=
}

# A run killed with SIGKILL cannot clean up; the next run reaps what it
# left, recognizing it by a pid that no longer lives.
fixture_reap_stale() {
	local d pid
	for d in /dev/shm/btrsend-test.*; do
		[ -f "$d/.pid" ] || continue
		pid=$(cat "$d/.pid")
		kill -0 "$pid" 2>/dev/null && continue
		fixture_teardown_dir "$d"
	done
}

require_btrfs() {
	[ "$(id -u)" = 0 ] || skip "needs root for loop devices and mounts"
	command -v mkfs.btrfs >/dev/null || skip "mkfs.btrfs not installed (make deps)"
	[ -e /dev/loop-control ] || modprobe loop 2>/dev/null || true
	[ -e /dev/loop-control ] || skip "no loop device support (/dev/loop-control)"
	grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null || true
	grep -qw btrfs /proc/filesystems || skip "kernel has no btrfs"
}

fixture_init() {
	require_btrfs
	fixture_reap_stale
	FIX_DIR=$(mktemp -d /dev/shm/btrsend-test.XXXXXX)
	echo $$ > "$FIX_DIR/.pid"
	trap fixture_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# btrfs_fs VAR [SIZE] [MOUNT_OPTS]: a fresh btrfs, mounted; VAR gets its path.
btrfs_fs() {
	local var=$1 size=${2:-512M} opts=${3:-} img mnt loop
	[ -n "$FIX_DIR" ] || fail "btrfs_fs before fixture_init"
	img=$(mktemp "$FIX_DIR/$var.XXXX.img")
	mnt=$FIX_DIR/mnt.$var
	truncate -s "$size" "$img"
	mkfs.btrfs -q -f "$img" >/dev/null || fail "mkfs.btrfs $img"
	loop=$(losetup --find --show "$img") || skip "no free loop device"
	echo "$loop" >> "$FIX_DIR/.loops"
	mkdir -p "$mnt"
	mount -t btrfs ${opts:+-o "$opts"} "$loop" "$mnt" || fail "mount $loop"
	echo "$mnt" >> "$FIX_DIR/.mounts"
	printf -v "$var" '%s' "$mnt"
}

# Remember a background process so that cleanup kills it.
fixture_track_pid() { FIX_PIDS+=("$1"); }

# A scratch directory inside the fixture (not on btrfs).
scratch_dir() {
	local d
	d=$(mktemp -d "$FIX_DIR/scratch.XXXX")
	echo "$d"
}

subvol_uuid() { btrfs subvolume show "$1" | awk '/^[[:space:]]*UUID:/ { print $2 }'; }
subvol_field() { btrfs subvolume show "$1" | awk -v f="$2" '$0 ~ "^[[:space:]]*" f ":" { print $NF }'; }

check_received() {
	local src=$1 got=$2 name=${2##*/} ruuid suuid
	"$TOOLS/treecmp" --ignore-root-times "$src" "$got" ||
		fail "$name differs from its source"
	[ "$(btrfs property get -ts "$got" ro)" = "ro=true" ] || fail "$name not read-only"
	ruuid=$(subvol_field "$got" "Received UUID")
	suuid=$(subvol_uuid "$src")
	[ "$ruuid" = "$suuid" ] || fail "$name: received uuid '$ruuid', source '$suuid'"
}
