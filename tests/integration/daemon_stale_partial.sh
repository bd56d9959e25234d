# A partial of a snapshot older than one the receiver has just received
# complete for the same job will never be resumed (a job run sends only
# what is newer than the newest snapshot the target holds), so the
# receive worker discards it when the newer one completes: its staging
# subvolume, checkpoint snapshots, state and progress files go
# (docs/protocol.md §5, "Stale partials").  Partials that may still be
# resumed stay: one of a newer snapshot of the job, one of another job
# of the same client, one of the same job name of another client.  All
# partials are real: `btrsendctl send --to` against a real btrsendd,
# killed with -9 after the receiver acknowledged checkpoints.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M 768M
mkdir -p "$SRC/snaps" "$SRC/wsnaps"
btrfs -q subvolume create "$SRC/src"
scenario_populate "$SRC/src" small
dd if=/dev/urandom of="$SRC/src/big" bs=1M count=24 status=none

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup" "client desktop.test"
sendconf() {	# sendconf CLIENT FILE
	net_send_conf -c "${1%.test}" -s "$d/state-$1" "$2"
	net_job_conf "$2" "every 1h"
	cat >> "$2" <<CONF
job work {
	source       $SRC/src
	snapshot-dir $SRC/wsnaps
	schedule     every 1h
	send-to      backup
}
CONF
}
sendconf laptop.test "$d/laptop.conf"
sendconf desktop.test "$d/desktop.conf"

BTRSEND_CKPT_BYTES=$((2 << 20)) net_start_receiver "$d/recv.conf" "$d/recv.log"
rpid=$NET_RECV_PID
area=$DST/backup/laptop.test/home

# cut CONF JOB SNAPSHOT: a full send killed after a few 2 MiB checkpoints;
# returns once the receiver has written the partial's last checkpoint.
cut() {
	local name=${3##*/} i
	"$CTL" send -f "$1" --job "$2" --retries 0 --limit 4M --proto auto \
		--to backup "$3" > "$d/cut-$name.out" 2>&1 &
	local cpid=$!
	fixture_track_pid $cpid
	sleep 2	# 8 MiB at 4 MiB/s
	kill -9 $cpid
	wait $cpid 2>/dev/null
	for i in $(seq 100); do
		grep -q "partial $name kept for resume" "$d/recv.log" && break
		sleep 0.1
	done
	grep -q "partial $name kept for resume" "$d/recv.log" ||
		fail "cut send of $name left no partial: $(tail -5 "$d/recv.log")"
}
snap() {	# snap DIR NAME
	btrfs -q subvolume snapshot -r "$SRC/src" "$1/$2"
}

old=home.$(date -u -d "2 days ago" +%Y%m%dT%H%M%SZ)
mid=home.$(date -u -d "1 day ago" +%Y%m%dT%H%M%SZ)
new=home.$(date -u +%Y%m%dT%H%M%SZ)
wold=work.$(date -u -d "2 days ago" +%Y%m%dT%H%M%SZ)
snap "$SRC/snaps" "$old"
snap "$SRC/wsnaps" "$wold"
scenario_mutate "$SRC/src" 1
snap "$SRC/snaps" "$mid"
scenario_mutate "$SRC/src" 2
snap "$SRC/snaps" "$new"

cut "$d/laptop.conf" home "$SRC/snaps/$old"	# stale once $mid is in
cut "$d/laptop.conf" work "$SRC/wsnaps/$wold"	# another job
cut "$d/desktop.conf" home "$SRC/snaps/$old"	# another client
cut "$d/laptop.conf" home "$SRC/snaps/$new"	# newer: may be resumed

# The stale partial is complete with checkpoint snapshots, so that the
# checks below can see them go.
for f in ".btrsend-partial.$old" ".btrsend-partial.$old.state"; do
	[ -e "$area/$f" ] || fail "no $f before: $(ls -A "$area" | tr '\n' ' ')"
done
ls -A "$area" | grep -qx "\.btrsend-ckpt\.[01]\.$old" ||
	fail "no checkpoint snapshot of $old before: $(ls -A "$area" | tr '\n' ' ')"

"$CTL" send -f "$d/laptop.conf" --job home --retries 0 --proto auto \
	--to backup "$SRC/snaps/$mid" > "$d/mid.out" 2>&1 ||
	fail "sending $mid failed: $(cat "$d/mid.out")"
[ -d "$area/$mid" ] || fail "$mid not received"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$mid" "$area/$mid" ||
	fail "$mid differs from its source"

left=$(ls -A "$area" | grep -F "$old" | tr '\n' ' ')
[ -z "$left" ] || fail "stale partial of $old left behind: $left"
btrfs subvolume list "$DST" | grep -q "laptop.test/home/.*$old" &&
	fail "a subvolume of $old is still listed: $(btrfs subvolume list "$DST")"
grep -q "DISCARDING stale partial home/$old .*$mid was just received" "$d/recv.log" ||
	fail "no loud discard line: $(grep -i "stale\|discard" "$d/recv.log")"

for f in "$area/.btrsend-partial.$new" "$area/.btrsend-partial.$new.state" \
    "$DST/backup/laptop.test/work/.btrsend-partial.$wold" \
    "$DST/backup/laptop.test/work/.btrsend-partial.$wold.state" \
    "$DST/backup/desktop.test/home/.btrsend-partial.$old" \
    "$DST/backup/desktop.test/home/.btrsend-partial.$old.state"; do
	[ -e "$f" ] || fail "a partial that may be resumed is gone: $f"
done
grep -q "DISCARDING stale partial .*\($new\|$wold\)" "$d/recv.log" &&
	fail "discarded a partial it must keep: $(grep DISCARDING "$d/recv.log")"

# The kept partial of the other client still resumes.
"$CTL" send -f "$d/desktop.conf" --job home --retries 0 --proto auto \
	--to backup "$SRC/snaps/$old" > "$d/desk.out" 2>&1 ||
	fail "resending $old for desktop.test failed: $(cat "$d/desk.out")"
grep -q "resuming at command" "$d/desk.out" ||
	fail "desktop.test's partial of $old was not resumed: $(cat "$d/desk.out")"
[ -d "$DST/backup/desktop.test/home/$old" ] || fail "desktop.test: $old not received"
grep -q "runtime error:\|Sanitizer" "$d/recv.log" &&
	fail "sanitizer report in the receiver: $(grep -A5 "runtime error:\|Sanitizer" "$d/recv.log")"
echo "daemon_stale_partial: ok"
