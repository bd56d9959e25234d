# A receiver killed while writing a checkpoint leaves either the previous
# or the new checkpoint, never a torn or mixed one, and the next writer
# carries on past a stale temp file.  ckpt_tool loops writing checkpoints
# on a real btrfs; it is SIGKILLed at random moments and the file is read
# back each time.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
[ -x "$TOOLS/ckpt_tool" ] || fail "$TOOLS/ckpt_tool missing (make integration)"
btrfs_fs FS 256M
name="state of home
.ckpt"
tmp=".$name.tmp"
prev=0 stale=0 rounds=40

for i in $(seq 1 $rounds); do
	"$TOOLS/ckpt_tool" loop "$FS" "$name" &
	pid=$!
	fixture_track_pid $pid
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ -e "$FS/$tmp" ] && stale=$((stale + 1))
	n=$("$TOOLS/ckpt_tool" read "$FS" "$name")
	rc=$?
	[ $rc = 3 ] && [ $prev = 0 ] && continue   # killed before the first rename
	[ $rc = 0 ] || fail "round $i: checkpoint unreadable after kill (exit $rc)"
	[ "$n" -ge "$prev" ] || fail "round $i: checkpoint went back from $prev to $n"
	prev=$n
done
note "$rounds kills, last checkpoint $prev, stale temp file left $stale times"
[ $prev -gt 0 ] || fail "no checkpoint was ever completed"
[ $stale -gt 0 ] || fail "no kill landed while a temp file existed: nothing was tested"

# The writer that resumes removes the stale temp and moves on.
"$TOOLS/ckpt_tool" loop "$FS" "$name" &
pid=$!
fixture_track_pid $pid
sleep 0.3
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
n=$("$TOOLS/ckpt_tool" read "$FS" "$name") || fail "final read refused"
[ "$n" -gt "$prev" ] || fail "writer did not progress past $prev (at $n)"
echo "checkpoint_crash: ok"
