#!/bin/bash
# make demo: what the engine does today, on two real loopback btrfs
# filesystems (made in /dev/shm, removed at the end).  The kernel sends a
# snapshot full of awkward files, btrsendctl checks and prints the stream,
# btrfs receive applies it, and treecmp proves the copy is exact.  Then the
# same for an incremental send.
. "$(dirname "$0")/common.sh"
. "$TOP/tests/lib/scenario.sh"

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD= PLAIN=; fi
step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
say() { printf '   %s\n' "$*"; }

ctl_has() { [ -x "$CTL" ] && "$CTL" --help 2>/dev/null | grep -qE "^  $1 "; }

for t in treecmp gen mksock clonerange; do
	[ -x "$TOOLS/$t" ] || fail "$TOOLS/$t missing: run 'make' first"
done
fixture_init
WORK=$(scratch_dir)

step "1. Two loopback btrfs filesystems"
btrfs_fs SRC 1G compress=zstd
btrfs_fs DST 1G
say "source      $SRC  (mounted with compress=zstd)"
say "destination $DST"

step "2. A source subvolume with everything send must carry"
btrfs -q subvolume create "$SRC/home" || fail "subvolume create"
scenario_populate "$SRC/home" small
say "files of many sizes, holes, hard links, symlinks, fifos, sockets, devices,"
say "set-id modes, many owners, xattrs, ACLs, capabilities, reflinks, odd names,"
say "100-level deep directories, compressible text:"
say "$(find "$SRC/home" | wc -l) entries, $(du -sh --apparent-size "$SRC/home" | cut -f1) apparent size"

step "3. Read-only snapshot (send only works on those)"
snap_ro "$SRC/home" "$SRC/home.1"
say "btrfs subvolume snapshot -r home home.1"

step "4. The kernel's send stream: btrfs send --proto 2 --compressed-data"
btrfs -q send --proto 2 --compressed-data -f "$WORK/full.stream" "$SRC/home.1" ||
	fail "btrfs send"
say "$(stat -c %s "$WORK/full.stream") bytes (zstd extents travel still compressed)"

step "5. btrsendctl verify: CRCs, TLV shapes and required attributes"
if ctl_has verify; then
	"$CTL" verify -f "$WORK/full.stream" | sed 's/^/   /'
	[ "${PIPESTATUS[0]}" = 0 ] || fail "btrsendctl verify rejected a kernel stream"
else
	say "(this btrsendctl has no 'verify' yet: it comes with branch codec)"
fi

step "6. btrsendctl dump: one line per command, as btrfs receive --dump"
if ctl_has dump; then
	"$CTL" dump -f "$WORK/full.stream" > "$WORK/full.ctl-dump" ||
		fail "btrsendctl dump"
	head -n 12 "$WORK/full.ctl-dump" | cut -c1-110 | sed 's/^/   /'
	say "... $(wc -l < "$WORK/full.ctl-dump") lines"
	btrfs receive --dump -f "$WORK/full.stream" > "$WORK/full.progs-dump"
	if cmp -s "$WORK/full.ctl-dump" "$WORK/full.progs-dump"; then
		say "byte-identical to 'btrfs receive --dump'"
	else
		say "DIFFERS from 'btrfs receive --dump' (see diff below)"
		diff "$WORK/full.progs-dump" "$WORK/full.ctl-dump" | head -n 10
	fi
else
	say "(this btrsendctl has no 'dump' yet: it comes with branch dump);"
	say "btrfs receive --dump shows:"
	btrfs receive --dump -f "$WORK/full.stream" > "$WORK/full.progs-dump"
	head -n 12 "$WORK/full.progs-dump" | cut -c1-110 | sed 's/^/   /'
fi

step "7. btrfs receive into the destination"
btrfs -q receive -f "$WORK/full.stream" "$DST" || fail "btrfs receive"
say "$DST/home.1: $(btrfs subvolume show "$DST/home.1" | grep -E 'Received UUID' | xargs)"

step "8. treecmp: is the copy exact?"
say "compares type, mode, owner, size, content, symlink targets, devices,"
say "nanosecond times, every xattr (ACLs, capabilities) and hard-link structure"
"$TOOLS/treecmp" "$SRC/home.1" "$DST/home.1" || fail "the copy differs"
say "equal"

step "9. Incremental: change the source, send only the difference"
scenario_mutate "$SRC/home" 1
snap_ro "$SRC/home" "$SRC/home.2"
btrfs -q send --proto 2 --compressed-data -p "$SRC/home.1" \
	-f "$WORK/incr.stream" "$SRC/home.2" || fail "btrfs send -p"
say "directory swaps, rename cycles, type changes, deletes, hole punching,"
say "new reflinks ...: $(stat -c %s "$WORK/incr.stream") bytes instead of a full send"
if ctl_has verify; then
	"$CTL" verify -f "$WORK/incr.stream" | sed 's/^/   /'
	[ "${PIPESTATUS[0]}" = 0 ] || fail "btrsendctl verify rejected a kernel stream"
fi
btrfs -q receive -f "$WORK/incr.stream" "$DST" || fail "btrfs receive (incremental)"
# Orphans pass through the root directory; the kernel sends no utimes for it.
"$TOOLS/treecmp" --ignore-root-times "$SRC/home.2" "$DST/home.2" ||
	fail "the incremental copy differs"
say "received and equal"

step "Done: cleaning up mounts, loop devices and images"
