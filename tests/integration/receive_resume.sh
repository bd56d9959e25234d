# A receive killed with SIGKILL at random points resumes from its last
# checkpoint when run again on the same stream, replays what it may have
# half applied, and converges to a tree equal to the source; a different
# stream for the same name discards the partial and starts over.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
btrfs_fs S 3G
btrfs_fs D 3G
out=$(scratch_dir)
KILLS=${KILLS:-24}

# A large incremental stream: renames, deletes, new files, many small
# files and directories, and a few hundred MiB of data.
btrfs -q subvolume create "$S/vol" >/dev/null || fail "subvolume create"
scenario_populate "$S/vol" small
snap_ro "$S/vol" "$S/s1"
scenario_mutate "$S/vol" 1
mkdir "$S/vol/bulk"
for i in $(seq 1 12); do
	"$TOOLS/gen" "resume:$i" $((20 * 1024 * 1024 + i)) > "$S/vol/bulk/big.$i"
done
for d in $(seq 1 40); do
	mkdir "$S/vol/bulk/d$d"
	for f in $(seq 1 100); do echo "$d/$f" > "$S/vol/bulk/d$d/f$f"; done
done
scenario_mutate "$S/vol" 2
snap_ro "$S/vol" "$S/s2"
btrfs -q send -f "$out/full" "$S/s1" || fail "send full"
btrfs -q send --proto 2 -p "$S/s1" -f "$out/inc" "$S/s2" || fail "send inc"

mkdir "$D/r"
$CTL receive -q -f "$out/full" "$D/r" || fail "receive full"

# Fast checkpoints so that the kills land between many of them.
ckopts="--checkpoint-bytes 8388608 --checkpoint-ms 250"
start=$(date +%s%N)
$CTL receive -q $ckopts -f "$out/inc" "$D/r" || fail "uninterrupted receive"
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
btrfs -q subvolume delete "$D/r/s2" >/dev/null || fail "delete s2"
note "uninterrupted incremental receive: $full_ms ms"

# Kill at random points; a run that gets to the end is checked and its
# result deleted, so the next runs start over on the full stream.
kills=0 finished=0 runs=0
while [ "$kills" -lt "$KILLS" ] && [ "$runs" -lt $((KILLS * 4)) ]; do
	runs=$((runs + 1))
	$CTL receive $ckopts -f "$out/inc" "$D/r" > "$out/log.$runs" 2>&1 &
	pid=$!
	fixture_track_pid $pid
	ms=$((RANDOM * full_ms / 3 / 32768))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -9 $pid 2>/dev/null && kills=$((kills + 1))
	wait $pid 2>/dev/null
	if [ -e "$D/r/s2" ]; then
		finished=$((finished + 1))
		grep -q resumed "$out/log.$runs" ||
			note "run $runs finished without resuming"
		"$TOOLS/treecmp" --ignore-root-times "$S/s2" "$D/r/s2" ||
			fail "run $runs: finished tree differs from the source"
		btrfs -q subvolume delete "$D/r/s2" >/dev/null || fail "delete s2"
	fi
done
note "$kills kills in $runs runs; $finished runs got to the end"
[ "$kills" -ge 20 ] || fail "only $kills kills in $runs runs"

$CTL receive $ckopts -f "$out/inc" "$D/r" > "$out/log.last" 2>&1 ||
	{ cat "$out/log.last" >&2; fail "final receive after the kills"; }
grep -q resumed "$out/log.last" || fail "the final run did not resume from a checkpoint"
"$TOOLS/treecmp" --ignore-root-times "$S/s2" "$D/r/s2" ||
	fail "resumed tree differs from the source"
btrfs subvolume show "$D/r/s2" | grep -q 'Flags:.*readonly' || fail "s2 not read-only"
ls -A "$D/r" | grep -q btrsend && fail "staging or state left behind"

# A different stream under the same name: the partial is discarded.
btrfs -q subvolume delete "$D/r/s2" >/dev/null || fail "delete s2"
$CTL receive $ckopts -f "$out/inc" "$D/r" > /dev/null 2>&1 &
pid=$!
fixture_track_pid $pid
sleep 0.5
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
[ -e "$D/r/.btrsend-partial.s2" ] || fail "no partial left by the killed run"
btrfs -q send --proto 1 -p "$S/s1" -f "$out/inc.v1" "$S/s2" || fail "send v1 inc"
$CTL receive -f "$out/inc.v1" "$D/r" > "$out/log.other" 2>&1 ||
	{ cat "$out/log.other" >&2; fail "receive of a different stream"; }
grep -q "discarding partial" "$out/log.other" || fail "no warning about the discarded partial"
"$TOOLS/treecmp" --ignore-root-times "$S/s2" "$D/r/s2" ||
	fail "tree after a discarded partial differs from the source"
echo "receive resume: ok"
