# kill -9 at random points of a network transfer, of the sender
# (btrsendctl send --to), of the receive worker and of the receiving
# btrsendd itself (then restarted), 24 kill attempts (>= 20 must land) spread over three
# snapshots (a full and two incrementals); after each snapshot's kills a
# rerun completes: the received snapshot equals the source, it is there
# exactly once, and nothing .btrsend-* is left in the receive area.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
btrfs_fs SRC 1G
btrfs_fs DST 1G
d=$(scratch_dir)
net_setup "$d"
mkdir -p "$DST/backup"
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_send_conf "$d/send.conf"
daemon=
start_daemon() {
	: > "$d/recv.log.new"
	BTRSEND_CKPT_BYTES=$((2 << 20)) net_start_receiver "$d/recv.conf" "$d/recv.log.new"
	daemon=$NET_RECV_PID
	cat "$d/recv.log.new" >> "$d/recv.log"
}
start_daemon

btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
scenario_populate "$SRC/src" small
kinds=(sender worker daemon)
kills=0
for n in 1 2 3; do
	snap=home.2026010${n}T000000Z
	[ "$n" -gt 1 ] && scenario_mutate "$SRC/src" $((n - 1))
	dd if=/dev/urandom of="$SRC/src/big$n" bs=1M count=24 status=none
	snap_ro "$SRC/src" "$SRC/snaps/$snap"
	for k in $(seq 8); do
		kind=${kinds[$(( (n * 8 + k) % 3 ))]}
		timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
			--limit 16M --to backup "$SRC/snaps/$snap" \
			> "$d/out" 2> "$d/err" &
		sender=$!
		fixture_track_pid "$sender"
		sleep "0.$((RANDOM % 9 + 1))"
		case $kind in
		sender)	victim=$sender ;;
		worker)	victim=$(pgrep -P "$daemon" | head -1) ;;
		daemon)	victim=$daemon ;;
		esac
		if [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null; then
			kills=$((kills + 1))
		fi
		wait "$sender" 2>/dev/null
		[ "$kind" = daemon ] && { wait "$daemon" 2>/dev/null; start_daemon; }
		note "$snap: kill -9 of the $kind (pid ${victim:-none})"
	done
	timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 3 \
		--to backup "$SRC/snaps/$snap" > "$d/out" 2> "$d/err" ||
		fail "$snap: rerun: $(cat "$d/err") / receiver: $(tail -5 "$d/recv.log.new")"
	got=$DST/backup/laptop.test/home
	"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" "$got/$snap" ||
		fail "$snap: received snapshot differs after kills"
	[ "$(ls "$got" | grep -c "^$snap\$")" = 1 ] || fail "$snap: not exactly once: $(ls -a "$got")"
done
[ "$kills" -ge 20 ] || fail "only $kills kills landed"
left=$(find "$DST/backup" -maxdepth 4 -name '.btrsend-*' | head -5)
[ -z "$left" ] || fail "leftovers in the receive area: $left"
[ "$(ls "$DST/backup/laptop.test/home" | wc -l)" = 3 ] ||
	fail "expected exactly 3 snapshots: $(ls -a "$DST/backup/laptop.test/home")"
echo "$kills kills -9 (sender, worker, daemon), 3 snapshots complete: ok"
