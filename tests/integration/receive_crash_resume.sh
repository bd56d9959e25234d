# A receive interrupted by a machine crash resumes exactly: the progress
# record of a killed run is ignored (BTRSEND_TEST_IGNORE_PROGRESS, test
# only: what a changed boot id does), so every resume must start from the
# checkpoint snapshot, and an incremental stream full of name reuse
# (directory swaps, rename cycles, renames over existing names) converges
# to a tree equal to the source however the kills fall.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
require_btrfs
fixture_init
btrfs_fs S 2G
btrfs_fs D 2G
out=$(scratch_dir)
KILLS=${KILLS:-24}
export BTRSEND_TEST_IGNORE_PROGRESS=1

# s1 -> s2: the scenario's mutation rounds, plus 30 directories whose
# names rotate and whose files swap names pairwise, so that almost every
# name in the stream is left by one inode and taken by another.
btrfs -q subvolume create "$S/vol" >/dev/null || fail "subvolume create"
scenario_populate "$S/vol" small
mkdir "$S/vol/rot"
for d in $(seq 1 30); do
	mkdir "$S/vol/rot/d$d"
	for f in $(seq 1 60); do echo "$d/$f" > "$S/vol/rot/d$d/f$f"; done
	"$TOOLS/gen" "crash:$d" $((400 * 1024 + d)) > "$S/vol/rot/d$d/big"
done
scenario_mutate "$S/vol" 1
snap_ro "$S/vol" "$S/s1"
scenario_mutate "$S/vol" 2
scenario_mutate "$S/vol" 3
# Round 4 too: after rounds 1 (s1) and 3 mut/own/file is 4750 both times,
# so the kernel sends its chown but no chmod, and the chown clears setuid
# in any receiver (btrfs receive included).  Round 4 makes it 0644.
scenario_mutate "$S/vol" 4
r=$S/vol/rot
mv "$r/d1" "$r/tmp"
for d in $(seq 2 30); do mv "$r/d$d" "$r/d$((d - 1))"; done
mv "$r/tmp" "$r/d30"
for d in $(seq 1 30); do
	for f in $(seq 1 2 59); do
		mv "$r/d$d/f$f" "$r/d$d/t" && mv "$r/d$d/f$((f + 1))" "$r/d$d/f$f" &&
			mv "$r/d$d/t" "$r/d$d/f$((f + 1))" || fail "swap"
	done
	echo "new $d" > "$r/d$d/f$d"
	"$TOOLS/gen" "crash2:$d" 300000 | dd of="$r/d$d/big" bs=4096 seek=20 \
		conv=notrunc status=none
done
snap_ro "$S/vol" "$S/s2"
btrfs -q send -f "$out/full" "$S/s1" || fail "send full"
btrfs -q send -p "$S/s1" -f "$out/inc" "$S/s2" || fail "send inc"

mkdir "$D/r"
$CTL receive -q -f "$out/full" "$D/r" || fail "receive full"

# A checkpoint (and so a snapshot) every 512 KiB or 40 ms.
ckopts="--checkpoint-bytes 524288 --checkpoint-ms 40"
start=$(date +%s%N)
$CTL receive -q $ckopts -f "$out/inc" "$D/r" || fail "uninterrupted receive"
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
"$TOOLS/treecmp" --ignore-root-times "$S/s2" "$D/r/s2" ||
	fail "uninterrupted receive differs from the source"
ls -A "$D/r" | grep -q '^\.btrsend-' && fail "uninterrupted receive left .btrsend-* behind"
btrfs -q subvolume delete "$D/r/s2" >/dev/null || fail "delete s2"
note "uninterrupted incremental receive: $full_ms ms"

# The state file must always name a checkpoint snapshot that exists.
check_state() {
	local st=$D/r/.btrsend-partial.s2.state snap
	[ -e "$st" ] || return 0
	snap=$(sed -n 's/^staging //p' "$st")
	case $snap in
	.btrsend-ckpt.[01].s2) ;;
	*) fail "run $1: state file names '$snap', not a checkpoint snapshot" ;;
	esac
	btrfs subvolume show "$D/r/$snap" 2>/dev/null | grep -q 'Flags:.*readonly' ||
		fail "run $1: checkpoint snapshot $snap missing or writable"
}

kills=0 finished=0 runs=0 restored=0
while [ "$kills" -lt "$KILLS" ] && [ "$runs" -lt $((KILLS * 4)) ]; do
	runs=$((runs + 1))
	$CTL receive $ckopts -f "$out/inc" "$D/r" > "$out/log.$runs" 2>&1 &
	pid=$!
	fixture_track_pid $pid
	ms=$((RANDOM * full_ms / 2 / 32768))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -9 $pid 2>/dev/null && kills=$((kills + 1))
	wait $pid 2>/dev/null
	grep -q "from checkpoint snapshot" "$out/log.$runs" &&
		restored=$((restored + 1))
	check_state "$runs"
	if [ -e "$D/r/s2" ]; then
		finished=$((finished + 1))
		"$TOOLS/treecmp" --ignore-root-times "$S/s2" "$D/r/s2" ||
			fail "run $runs: finished tree differs from the source"
		ls -A "$D/r" | grep '^\.btrsend-' &&
			fail "run $runs: .btrsend-* left after a finished receive"
		btrfs -q subvolume delete "$D/r/s2" >/dev/null || fail "delete s2"
	fi
done
note "$kills kills in $runs runs; $restored restored a checkpoint snapshot; $finished got to the end"
[ "$kills" -ge 20 ] || fail "only $kills kills in $runs runs"
[ "$restored" -ge 5 ] || fail "only $restored runs restored a checkpoint snapshot"

# The final run must find a partial to resume: the last killed run may
# have been killed before its first checkpoint after one that finished,
# leaving none.  Kill runs halfway (past the first 40 ms checkpoint,
# before the end) until a state file is there.
tries=0
while [ ! -e "$D/r/.btrsend-partial.s2.state" ] && [ "$tries" -lt 10 ]; do
	tries=$((tries + 1))
	$CTL receive $ckopts -f "$out/inc" "$D/r" > "$out/log.half" 2>&1 &
	pid=$!
	fixture_track_pid $pid
	ms=$((full_ms / 2 > 60 ? full_ms / 2 : 60))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ -e "$D/r/s2" ] && { btrfs -q subvolume delete "$D/r/s2" >/dev/null ||
		fail "delete s2"; }
done
[ -e "$D/r/.btrsend-partial.s2.state" ] ||
	fail "no partial with a checkpoint after $tries runs killed halfway"
$CTL receive $ckopts -f "$out/inc" "$D/r" > "$out/log.last" 2>&1 ||
	{ cat "$out/log.last" >&2; fail "final receive after the kills"; }
grep -q "from checkpoint snapshot" "$out/log.last" ||
	fail "the final run did not restore a checkpoint snapshot"
"$TOOLS/treecmp" --ignore-root-times "$S/s2" "$D/r/s2" ||
	fail "resumed tree differs from the source"
btrfs subvolume show "$D/r/s2" | grep -q 'Flags:.*readonly' || fail "s2 not read-only"
ls -A "$D/r" | grep '^\.btrsend-' && fail ".btrsend-* left behind"
# The checkpoint snapshots are no subvolumes of ours: only s1 and s2.
n=$(btrfs subvolume list -o "$D" | wc -l)
[ "$n" = 2 ] || { btrfs subvolume list -o "$D" >&2; fail "$n subvolumes, want 2"; }

# A discarded partial takes its checkpoint snapshots with it.
btrfs -q subvolume delete "$D/r/s2" >/dev/null || fail "delete s2"
for try in $(seq 1 20); do
	$CTL receive $ckopts -f "$out/inc" "$D/r" > /dev/null 2>&1 &
	pid=$!
	fixture_track_pid $pid
	ms=$((full_ms / 4 + RANDOM * full_ms / 2 / 32768))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ -e "$D/r/.btrsend-partial.s2.state" ] && break
	[ -e "$D/r/s2" ] && { btrfs -q subvolume delete "$D/r/s2" >/dev/null ||
		fail "delete s2"; }
done
check_state last
ls -A "$D/r" | grep -q '^\.btrsend-ckpt\.[01]\.s2$' ||
	fail "no checkpoint snapshot left by a killed run (20 tries)"
btrfs -q send --proto 2 -p "$S/s1" -f "$out/inc.v2" "$S/s2" || fail "send v2 inc"
$CTL receive -f "$out/inc.v2" "$D/r" > "$out/log.other" 2>&1 ||
	{ cat "$out/log.other" >&2; fail "receive of a different stream"; }
grep -q "discarding partial" "$out/log.other" || fail "no warning about the discarded partial"
"$TOOLS/treecmp" --ignore-root-times "$S/s2" "$D/r/s2" ||
	fail "tree after a discarded partial differs from the source"
ls -A "$D/r" | grep '^\.btrsend-' && fail ".btrsend-* left after a discarded partial"
echo "receive crash resume: ok"
