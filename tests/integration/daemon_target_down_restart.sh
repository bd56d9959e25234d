# Two real btrsendd on loopback btrfs, real TLS: keep-source goes on
# pruning while the target is down, across a restart of the sender, by
# what the target held at its last contact (issue 18, "Never fill the
# source disk").  A job `every 2s` with keep-source { hourly 1 }:
#  * one good run: the target holds BASE; the sender keeps it in
#    <state-dir>/held (0600);
#  * the receiver goes down, then the sender is restarted: its runs fail,
#    and each prunes by keep-source keeping BASE (the persisted base)
#    and the newest, nothing else: after two runs, exactly two snapshots;
#  * the held file made writable by others is refused at the next start
#    with a clear log: the target is then unknown, and, on the safe side,
#    nothing is pruned while it is unreachable (snapshots pile up, one
#    per run: its retries send it again).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_source

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_send_conf -s "$d/sstate" "$d/send.conf"
net_job_conf "$d/send.conf" "every 2s" "keep-source  { hourly 1 }"
net_check_conf "$d/recv.conf" receiver
net_check_conf "$d/send.conf" sender
held=$d/sstate/held

net_start_receiver "$d/recv.conf" "$d/recv.log" 1
rpid=$NET_RECV_PID
net_start_sender "$d/send.conf" "$d/send.log"
net_wait_sender "job home: run ok" 1 30
net_pause_sender
base=$(ls "$SRC/snaps")
[ "$(echo "$base" | wc -l)" = 1 ] || fail "first run left [$(echo $base)]"
[ -f "$held" ] || fail "no $held after a run that reached the target"
[ "$(stat -c %a "$held")" = 600 ] || fail "$held has mode $(stat -c %a "$held")"
grep -q "^[0-9]* home backup $base 1\$" "$held" ||
	fail "$held does not record base $base: $(cat "$held")"

stop_sender() {
	kill -CONT "$NET_SEND_PID"
	kill -TERM "$NET_SEND_PID"
	wait "$NET_SEND_PID" 2>/dev/null || true
}

kill -TERM $rpid
wait $rpid 2>/dev/null || true
stop_sender

# (b) restarted with the target still down: prunes by the persisted base.
net_start_sender "$d/send.conf" "$d/send.log"
for run in 1 2; do
	scenario_mutate "$SRC/src" $run
	net_wait_sender "job home: run did not complete" $run 90
	net_pause_sender
	[ -d "$SRC/snaps/$base" ] || fail "restarted, outage run $run: base $base was pruned"
	[ "$(ls "$SRC/snaps" | wc -l)" = 2 ] ||
		fail "restarted, outage run $run: [$(ls "$SRC/snaps" | tr '\n' ' ')], expected the base and the newest"
	kill -CONT "$NET_SEND_PID"
done
grep -q "job home: target backup did not say what it holds: pruning by keep-source, keeping its last known base $base" "$d/send.log" ||
	fail "no 'last known base' line after the restart"
stop_sender

# (c) a held file others could have written is refused: unknown, and
# nothing is pruned while the target is unreachable.
chmod 0666 "$held"
net_log_mark "$d/send.log"
net_start_sender "$d/send.conf" "$d/send.log"
net_log_says "refusing $held: writable by group or others \(mode 666\); what each target held is unknown" \
	"a group/world-writable held file"
# Nothing pruned: every snapshot there before stays (the run's own
# included: a retry sends it again and takes none).
before=$(ls "$SRC/snaps")
for run in 3 4; do
	scenario_mutate "$SRC/src" $run
	net_wait_sender "job home: run did not complete" $run 90
	net_pause_sender
	for s in $before; do
		[ -d "$SRC/snaps/$s" ] ||
			fail "refused held file, outage run $run: $s was pruned (nothing should be)"
	done
	kill -CONT "$NET_SEND_PID"
done
grep -q "job home: not pruning: target backup did not say what it holds and nothing is known of what it held" "$d/send.log" ||
	fail "no 'not pruning: nothing is known' line with the held file refused"
[ -d "$SRC/snaps/$base" ] || fail "base $base pruned with the held file refused"
stop_sender
echo "daemon_target_down_restart: ok"
