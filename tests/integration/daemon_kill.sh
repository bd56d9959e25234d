# kill -9 during scheduled transfers between two real btrsendd (TLS on
# loopback, the target's bandwidth limited so each transfer takes
# seconds): in turn the sending daemon, its send worker, the receiving
# daemon (the listening parent) and a receive worker, at a random point
# of a transfer, for about $KILL_SECONDS (70) s, starting after the first
# (full) send; what was killed is restarted.  A killed daemon's send
# worker must die with it (else the restarted daemon would run the job
# twice at once).  Then the sender restarts with the job `manual`: only
# an interrupted run goes on, and completes.  At the end every snapshot
# the sender made is on the receiver exactly once, identical to its
# source, read-only with its source's uuid as received uuid; nothing else
# is in the job's area (no staging, no partial); the state says ok.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
fixture_init
net_fixture d 1G
btrfs -q subvolume create "$SRC/home" || fail "subvolume create"
mkdir "$SRC/snaps"
dd if=/dev/urandom of="$SRC/home/base" bs=1M count=24 status=none
secs=${KILL_SECONDS:-70}

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
sendconf() {	# sendconf SCHEDULE
	net_send_conf -s "$d/sstate" "$d/send.conf" "bandwidth 8M"
	cat >> "$d/send.conf" <<CONF
job home {
	source       $SRC/home
	snapshot-dir $SRC/snaps
	schedule     $1
	send-to      backup
}
CONF
}
sendconf "every 3s"
net_check_conf "$d/send.conf" sender

rpid= spid=
start_receiver() {
	BTRSEND_CKPT_BYTES=$((2 << 20)) net_start_receiver "$d/recv.conf" "$d/recv.log"
	rpid=$NET_RECV_PID
}
# Started: its signal handlers are set (a SIGTERM before would kill it).
start_sender() {
	net_start_sender "$d/send.conf" "$d/send.log"
	spid=$NET_SEND_PID
}
start_receiver
start_sender

children() { pgrep -P "$1"; }
# Cleanup kills the daemons' children too; those whose daemon was killed
# first are tracked below.
trap 'for p in "${FIX_PIDS[@]}"; do pkill -9 -P "$p"; done; fixture_cleanup' EXIT
# Until both sides have a worker (a transfer is under way), at most 60 s
# (a killed send worker's run is retried after 10 s, doubling).
wait_transfer() {
	local i
	for i in $(seq 600); do
		kill -0 $spid 2>/dev/null || fail "sender died: $(tail -20 "$d/send.log")"
		kill -0 $rpid 2>/dev/null || fail "receiver died: $(tail -20 "$d/recv.log")"
		[ -n "$(children $spid)" ] && [ -n "$(children $rpid)" ] && return
		sleep 0.1
	done
	fail "no transfer under way in 60 s: $(tail -10 "$d/send.log")"
}

# The first, full send completes unharmed, so that the kills land on
# the incremental chain; a full partial of an older snapshot cut here
# would be removed as stale by the receiver once a newer one arrives
# (daemon_stale_partial.sh tests that), not resumed.
net_wait_sender "job home: run ok" 1 30

kinds=(sender-daemon send-worker receiver-daemon receive-worker)
declare -A landed
t_end=$(( $(date +%s) + secs ))
round=0
while [ "$(date +%s)" -lt "$t_end" ]; do
	kind=${kinds[$((round % 4))]}
	round=$((round + 1))
	# Each run has something new to send: 8 to 24 MiB, 1 to 3 s.
	dd if=/dev/urandom of="$SRC/home/f$round" bs=1M count=$((8 + RANDOM % 17)) status=none
	[ $round -gt 3 ] && rm -f "$SRC/home/f$((round - 3))"
	wait_transfer
	sleep "$((RANDOM % 2)).$((RANDOM % 10))"
	orphans=$(children $spid)
	for p in $orphans $(children $rpid); do fixture_track_pid "$p"; done
	case $kind in
	sender-daemon)	victim=$spid ;;
	send-worker)	victim=$orphans ;;
	receiver-daemon) victim=$rpid ;;
	receive-worker)	victim=$(children $rpid | head -1) ;;
	esac
	if [ -n "$victim" ] && kill -9 $victim 2>/dev/null; then
		landed[$kind]=$(( ${landed[$kind]:-0} + 1 ))
		note "round $round: kill -9 of the $kind (pid $victim)"
	else
		note "round $round: the $kind was gone already"
	fi
	case $kind in
	sender-daemon)
		wait $spid 2>/dev/null
		sleep 1
		alive=
		for p in $orphans; do
			[ -d /proc/$p ] && [ "$(awk '{ print $3 }' /proc/$p/stat)" != Z ] &&
				alive="$alive $p"
		done
		[ -z "$alive" ] || fail "send worker$alive outlived its killed daemon by 1 s"
		start_sender ;;
	receiver-daemon)
		wait $rpid 2>/dev/null
		start_receiver ;;
	esac
done
note "kills landed: $(for k in "${kinds[@]}"; do printf '%s %s, ' "$k" "${landed[$k]:-0}"; done)"
for k in "${kinds[@]}"; do
	[ "${landed[$k]:-0}" -ge 2 ] || fail "only ${landed[$k]:-0} kills of the $k landed"
done

# No new runs; a run interrupted by the restart completes at once.
sendconf manual
kill -TERM $spid
wait $spid || fail "sender: exit $? after SIGTERM"
start_sender
for i in $(seq 1200); do
	kill -0 $spid 2>/dev/null || fail "sender died: $(tail -20 "$d/send.log")"
	[ -z "$(children $spid)" ] &&
		grep -q "^home - [0-9]* [0-9]* ok" "$d/sstate/state" && break
	sleep 0.1
done
grep -q "^home - [0-9]* [0-9]* ok" "$d/sstate/state" &&
	grep -q "^home backup [0-9]* [0-9]* ok" "$d/sstate/state" ||
	fail "the last run did not end ok: $(cat "$d/sstate/state"); $(tail -10 "$d/send.log")"

got=$DST/backup/laptop.test/home
made=$(ls "$SRC/snaps")
[ "$(ls -A "$got")" = "$made" ] ||
	fail "the target holds $(ls -A "$got" | tr '\n' ' '); the sender made $(echo $made)"
for s in $made; do
	check_received "$SRC/snaps/$s" "$got/$s"
done
left=$(find "$DST/backup" -maxdepth 4 -name '.btrsend-*' | head -5)
[ -z "$left" ] || fail "leftovers in the receive area: $left"
kill -TERM $spid $rpid
wait $spid || fail "sender: exit $? after SIGTERM"
wait $rpid || fail "receiver: exit $? after SIGTERM"
echo "daemon_kill: $(echo $made | wc -w) snapshots, $round rounds of kill -9: ok"
