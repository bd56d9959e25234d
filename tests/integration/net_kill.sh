# kill -9 at random points of a network transfer, of the sender
# (btrsendctl send --to), of the receive worker and of the receiving
# btrsendd itself (then restarted): 21 attempts of each, spread over three
# snapshots (a full and two incrementals), of which at least 20 of each
# must land while the transfer runs; after each snapshot's kills a
# rerun completes: the received snapshot equals the source, it is there
# exactly once, and nothing .btrsend-* is left in the receive area.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 1G
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_send_conf "$d/send.conf"
start_daemon() {	# 2 MiB checkpoints; its pid in $daemon
	BTRSEND_CKPT_BYTES=$((2 << 20)) net_start_receiver_new "$d/recv.conf" "$d/recv.log"
	daemon=$NET_RECV_PID
}
start_daemon

net_source
kinds=(sender worker daemon)
declare -A kills=([sender]=0 [worker]=0 [daemon]=0)
for n in 1 2 3; do
	snap=home.2026010${n}T000000Z
	[ "$n" -gt 1 ] && scenario_mutate "$SRC/src" $((n - 1))
	# 48 MiB at 4 MiB/s: 21 kills at most 0.9 s apart cannot finish it
	dd if=/dev/urandom of="$SRC/src/big$n" bs=1M count=48 status=none
	snap_ro "$SRC/src" "$SRC/snaps/$snap"
	for k in $(seq 21); do
		kind=${kinds[$(( k % 3 ))]}
		timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
			--limit 4M --to backup "$SRC/snaps/$snap" \
			> "$d/out" 2> "$d/err" &
		sender=$!
		fixture_track_pid "$sender"
		sleep "0.$((RANDOM % 9 + 1))"
		case $kind in
		sender)	victim=$sender ;;
		worker)	victim=$(pgrep -n -P "$daemon") ;;  # the newest: this transfer's
		daemon)	victim=$daemon ;;
		esac
		# landed: the transfer was still running when it was hit
		if [ -n "$victim" ] && kill -0 "$sender" 2>/dev/null &&
		    kill -9 "$victim" 2>/dev/null; then
			kills[$kind]=$((${kills[$kind]} + 1))
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
for kind in "${kinds[@]}"; do
	[ "${kills[$kind]}" -ge 20 ] || fail "only ${kills[$kind]} kills of the $kind landed"
done
left=$(find "$DST/backup" -maxdepth 4 -name '.btrsend-*' | head -5)
[ -z "$left" ] || fail "leftovers in the receive area: $left"
[ "$(ls "$DST/backup/laptop.test/home" | wc -l)" = 3 ] ||
	fail "expected exactly 3 snapshots: $(ls -a "$DST/backup/laptop.test/home")"
echo "kills -9: ${kills[sender]} sender, ${kills[worker]} worker, ${kills[daemon]} daemon; 3 snapshots complete: ok"
