# A target that holds nothing of the job but a partial of a full send of
# an older snapshot: the daemon's first run resumes that partial first
# (its bytes are paid for), then sends everything newer incrementally
# along the chain, instead of starting over with a full send of the
# newest (docs/architecture.md, "A job run").  The partial is made by
# kill -9 of `btrsendctl send --to` after the receiver acknowledged a
# checkpoint.  The receiver's LIST-REPLY carries the partial
# (protocol.md §3); the manual send uses the job's stream parameters
# (--proto auto), or the partial could not be resumed.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_source
dd if=/dev/urandom of="$SRC/src/big" bs=1M count=24 status=none

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_send_conf -s "$d/sstate" "$d/send.conf"
net_job_conf "$d/send.conf" "every 1h"
BTRSEND_CKPT_BYTES=$((2 << 20)) net_start_receiver "$d/recv.conf" "$d/recv.log"
rpid=$NET_RECV_PID
area=$DST/backup/laptop.test/home

# A full send of the oldest snapshot, cut after a checkpoint.
old=home.$(date -u -d "2 days ago" +%Y%m%dT%H%M%SZ)
btrfs -q subvolume snapshot -r "$SRC/src" "$SRC/snaps/$old"
"$CTL" send -f "$d/send.conf" --job home --retries 0 --limit 4M --proto auto \
	--to backup "$SRC/snaps/$old" > "$d/manual.out" 2>&1 &
cpid=$!
fixture_track_pid $cpid
sleep 2	# 8 MiB at 4 MiB/s: a few 2 MiB checkpoints
kill -9 $cpid
wait $cpid 2>/dev/null
sleep 1
[ -d "$area/$old" ] && fail "the cut send completed anyway; nothing to resume"
ls -A "$area" | grep -q . || fail "the cut send left no partial"

scenario_mutate "$SRC/src" 1
mid=home.$(date -u -d "1 day ago" +%Y%m%dT%H%M%SZ)
btrfs -q subvolume snapshot -r "$SRC/src" "$SRC/snaps/$mid"
scenario_mutate "$SRC/src" 2

net_start_sender "$d/send.conf" "$d/send.log"
for i in $(seq 600); do
	grep -q "job home: run ok\|job home: run did not complete\|job home: run failed" "$d/send.log" && break
	sleep 0.1
done
grep -q "job home: run ok" "$d/send.log" || fail "the run did not succeed: $(tail -20 "$d/send.log")"
grep -q "list home: 0 snapshots, 1 partial" "$d/recv.log" ||
	fail "the receiver did not list the partial: $(grep "list home" "$d/recv.log")"
made=$(ls "$SRC/snaps" | sort | tail -n 1)

grep -q "job home: target backup holds none of this job's 3 snapshots: starting it with $old (a full send), resuming its partial" "$d/send.log" ||
	fail "no partial-first plan: $(grep "target backup" "$d/send.log")"
grep -q "$old: resuming at command" "$d/send.log" ||
	fail "$old was not resumed: $(grep "$old" "$d/send.log")"
grep -q ": sent $old to backup, full\$" "$d/send.log" || fail "$old not sent in full"
grep -q ": sent $mid to backup, incremental from $old\$" "$d/send.log" || fail "$mid not incremental from $old"
grep -q ": sent $made to backup, incremental from $mid\$" "$d/send.log" || fail "$made not incremental from $mid"
prev_uuid=
for s in $old $mid $made; do
	"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$s" "$area/$s" || fail "$s differs from its source"
	[ "$(subvol_field "$area/$s" "Received UUID")" = "$(subvol_uuid "$SRC/snaps/$s")" ] || fail "$s: wrong received uuid"
	[ -z "$prev_uuid" ] || [ "$(subvol_field "$area/$s" "Parent UUID")" = "$prev_uuid" ] ||
		fail "$s was not made from its predecessor on the target"
	prev_uuid=$(subvol_uuid "$area/$s")
done
[ "$(ls "$area" | sort)" = "$(printf '%s\n' $old $mid $made | sort)" ] ||
	fail "target holds [$(ls -A "$area" | tr '\n' ' ')]"
echo "daemon_partial_first: ok"
