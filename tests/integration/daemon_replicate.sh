# Two real btrsendd on loopback btrfs: one runs a job `every 2s` with
# send-to, keep-source { hourly 1 } and keep-target { hourly 1 }; the
# other receives.  Between runs the sender is paused (SIGSTOP) while the
# source changes (scenario_mutate) and the last run is checked: the
# received snapshot equals its local source (treecmp, root times ignored
# as after any incremental receive), is read-only with the source's uuid
# as received uuid, was sent incrementally from the previous run's
# snapshot (sender log), and retention left exactly the newest snapshot
# on both sides, which is all the sender lists as held by the target.  Then the receiver stops: runs fail, are retried with
# backoff, and keep the base the target needs; when the receiver is back
# the retry catches up: every snapshot taken meanwhile, incrementally
# from that base.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_source

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_send_conf -s "$d/sstate" "$d/send.conf" "compress zstd"
net_job_conf "$d/send.conf" "every 2s" "keep-source  { hourly 1 }" \
	"keep-target  { hourly 1 }" "on-success   \"$d/hook.sh\""
cat > "$d/hook.sh" <<EOC
#!/bin/sh
echo "\$JOB|\$TARGET|\$SNAPSHOT|\$ERROR" >> $d/hook.log
EOC
chmod +x "$d/hook.sh"
net_check_conf "$d/recv.conf" receiver
net_check_conf "$d/send.conf" sender

net_start_receiver "$d/recv.conf" "$d/recv.log" 1
rpid=$NET_RECV_PID
net_start_sender "$d/send.conf" "$d/send.log"
spid=$NET_SEND_PID

# Wait for the N-th "run ok" of the sender, then pause it.
wait_run_ok() {
	net_wait_sender "job home: run ok" "$1" 30
	net_pause_sender
}

# The newest local snapshot is on the target, equal, read-only, received.
check_newest() {
	local got
	name=$(ls "$SRC/snaps" | sort | tail -n 1)
	got=$DST/backup/laptop.test/home/$name
	[ -d "$got" ] || fail "$name not received at $got: $(tail -10 "$d/send.log")"
	check_received "$SRC/snaps/$name" "$got"
}

# Every send after the first is incremental from the one sent before it.
check_chain() {
	awk '/: sent home\.[^ ]* to backup, / {
		n++; name = $3; inc = ($0 ~ /, incremental from /)
		if (n == 1 && inc) { print "first send incremental: " $0; bad = 1 }
		if (n > 1 && $NF != prev) { print "broken chain: " $0 " (previous sent: " prev ")"; bad = 1 }
		prev = name
	} END { if (n == 0) { print "no sends logged"; bad = 1 }; exit bad }' "$d/send.log" > "$d/chain" ||
		fail "$(cat "$d/chain")"
}

planted=home.20000101T000000Z
prev=
for run in 1 2 3 4 5; do
	wait_run_ok $run
	check_newest
	grep -q "sent $name to backup" "$d/send.log" || fail "no send of $name logged"
	check_chain
	# keep-source / keep-target { hourly 1 }: only the newest, both sides
	# (the target prunes after the send, in the same run), and never the
	# old-named writable "partial" planted after run 1.
	[ "$(ls "$SRC/snaps")" = "$name" ] || fail "run $run: local holds $(ls "$SRC/snaps" | tr '\n' ' ')"
	[ "$(ls "$DST/backup/laptop.test/home" | grep -v "^$planted\$")" = "$name" ] ||
		fail "run $run: target holds $(ls "$DST/backup/laptop.test/home" | tr '\n' ' ')"
	[ $run = 1 ] || [ -d "$DST/backup/laptop.test/home/$planted" ] ||
		fail "PRUNE deleted the writable partial $planted"
	# What the sender shows the target holds (snapshots, metrics; kept
	# in <state-dir>/held) is refreshed after the target's prune.
	[ $run = 1 ] || ! grep -qx "$prev" "$d/sstate/held" ||
		fail "run $run: the target pruned $prev, the sender still lists it as held: $(cat "$d/sstate/held")"
	grep -qx "$name" "$d/sstate/held" || fail "run $run: $name not listed as held: $(cat "$d/sstate/held")"
	[ $run = 1 ] && btrfs -q subvolume create "$DST/backup/laptop.test/home/$planted"
	prev=$name
	scenario_mutate "$SRC/src" $run
	# After the last, the sender stays stopped: an overdue run resumed
	# here could finish before the receiver is stopped below, and then
	# rightly prune $prev, which is then no longer the target's base.
	[ $run = 5 ] || kill -CONT $spid
done
grep -q "pruned home/.* by keep-target" "$d/recv.log" || fail "receiver logged no keep-target pruning"

# The target goes away: the next run fails and is retried with backoff;
# the base the target holds stays on the source.
net_pause_sender
kill -TERM $rpid
wait $rpid 2>/dev/null || true
kill -CONT $spid
net_wait_sender "job home: run did not complete:.*retry 1 of" 1 15
[ -d "$SRC/snaps/$prev" ] || fail "the target's base $prev was pruned while it was down"
[ "$(ls "$SRC/snaps" | wc -l)" -ge 2 ] || fail "the failed run's snapshot is gone"
grep -q "^home backup .* retry" "$d/sstate/state" 2>/dev/null ||
	note "state: $(cat "$d/sstate/state" 2>/dev/null)"

# What piled up while it was down; the target misses all of it.
piled=$(ls "$SRC/snaps" | grep -vx "$prev")
nlog=$(wc -l < "$d/send.log")
net_start_receiver "$d/recv.conf" "$d/recv.log" 2
rpid=$NET_RECV_PID
okn=$(grep -c "job home: run ok" "$d/send.log")
wait_run_ok $((okn + 1))	# the retry, about 10 s after the failure
check_newest
# The catch-up sends every snapshot taken meanwhile, the first one
# incremental from the base the target kept, the rest along the chain.
first=$(tail -n +$((nlog + 1)) "$d/send.log" | grep -m1 ": sent home\.[^ ]* to backup, ")
case $first in
*"incremental from $prev") ;;
*) fail "catch-up did not start incrementally from $prev: $first" ;;
esac
for p in $piled; do
	grep -q "sent $p to backup" "$d/send.log" || fail "catch-up skipped $p"
done
check_chain
[ "$(ls "$SRC/snaps")" = "$name" ] || fail "after catch-up local holds $(ls "$SRC/snaps" | tr '\n' ' ')"
[ "$(ls "$DST/backup/laptop.test/home" | grep -v "^$planted\$")" = "$name" ] ||
	fail "after catch-up target holds $(ls "$DST/backup/laptop.test/home" | tr '\n' ' ')"
kill -CONT $spid
# The on-success hook saw the job, the target it sent to and the run's
# snapshot, once per ok run (hooks run after the run is logged ok).
for i in $(seq 50); do
	[ "$(wc -l < "$d/hook.log")" -ge "$(grep -c "job home: run ok" "$d/send.log")" ] && break
	sleep 0.1
done
grep -q "^home|backup|$name|\$" "$d/hook.log" ||
	fail "no on-success hook with TARGET=backup for $name: $(cat "$d/hook.log")"
grep -v "^home|backup|home\.[0-9TZ.]*|\$" "$d/hook.log" &&
	fail "hook environment wrong in the lines above"
note "5 runs replicated, target down and caught up with $name"
echo "daemon_replicate: ok"
