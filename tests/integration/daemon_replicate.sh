# Two real btrsendd on loopback btrfs: one runs a job `every 2s` with
# send-to, keep-source { hourly 1 } and keep-target { hourly 1 }; the
# other receives.  Between runs the sender is paused (SIGSTOP) while the
# source changes (scenario_mutate) and the last run is checked: the
# received snapshot equals its local source (treecmp, root times ignored
# as after any incremental receive), is read-only with the source's uuid
# as received uuid, was sent incrementally from the previous run's
# snapshot (sender log), and retention left exactly the newest snapshot
# on both sides.  Then the receiver stops: runs fail, are retried with
# backoff, and keep the base the target needs; when the receiver is back
# the retry catches up: every snapshot taken meanwhile, incrementally
# from that base.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
btrfs_fs SRC 512M
btrfs_fs DST 512M
d=$(scratch_dir)
net_setup "$d"
mkdir -p "$DST/backup"
btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
scenario_populate "$SRC/src" small

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_send_conf -s "$d/sstate" "$d/send.conf" "compress zstd"
cat >> "$d/send.conf" <<CONF
job home {
	source       $SRC/src
	snapshot-dir $SRC/snaps
	schedule     every 2s
	send-to      backup
	keep-source  { hourly 1 }
	keep-target  { hourly 1 }
	on-success   "$d/hook.sh"
}
CONF
cat > "$d/hook.sh" <<EOC
#!/bin/sh
echo "\$JOB|\$TARGET|\$SNAPSHOT|\$ERROR" >> $d/hook.log
EOC
chmod +x "$d/hook.sh"
net_check_conf "$d/recv.conf" receiver
net_check_conf "$d/send.conf" sender

start_receiver() {
	net_start_receiver "$d/recv.conf" "$d/recv.log" "$1"
	rpid=$NET_RECV_PID
}
start_receiver 1
"$BTRSENDD" -d -v -f "$d/send.conf" 2> "$d/send.log" &
spid=$!
fixture_track_pid $spid

# Pause the sender's parent (no new run starts) and wait for its
# worker, if one had started, to finish.
pause_sender() {
	kill -STOP $spid
	for i in $(seq 600); do
		# A finished worker stays a zombie until the parent runs again.
		ps -o stat= --ppid $spid | grep -qv '^Z' || return 0
		sleep 0.1
	done
	fail "the job worker did not finish in 60 s"
}

# Wait for the N-th "run ok" of the sender, then pause it.
wait_run_ok() {
	for i in $(seq 300); do
		kill -0 $spid 2>/dev/null || fail "sender died: $(grep -A40 "ERROR: AddressSanitizer\|runtime error" "$d/send.log" || tail -20 "$d/send.log")"
		if [ "$(grep -c "job home: run ok" "$d/send.log")" -ge "$1" ]; then
			pause_sender
			return
		fi
		sleep 0.1
	done
	fail "no run ok #$1 in 30 s: $(tail -20 "$d/send.log")"
}

# The newest local snapshot is on the target, equal, read-only, received.
check_newest() {
	local got ruuid suuid
	name=$(ls "$SRC/snaps" | sort | tail -n 1)
	got=$DST/backup/laptop.test/home/$name
	[ -d "$got" ] || fail "$name not received at $got: $(tail -10 "$d/send.log")"
	"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$name" "$got" ||
		fail "$name differs from its source"
	[ "$(btrfs property get -ts "$got" ro)" = "ro=true" ] || fail "$name not read-only"
	ruuid=$(btrfs subvolume show "$got" | awk '/Received UUID:/ { print $3 }')
	suuid=$(btrfs subvolume show "$SRC/snaps/$name" | awk '/^[[:space:]]*UUID:/ { print $2 }')
	[ "$ruuid" = "$suuid" ] || fail "$name: received uuid '$ruuid', source '$suuid'"
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
	[ $run = 1 ] && btrfs -q subvolume create "$DST/backup/laptop.test/home/$planted"
	prev=$name
	scenario_mutate "$SRC/src" $run
	kill -CONT $spid
done
grep -q "pruned home/.* by keep-target" "$d/recv.log" || fail "receiver logged no keep-target pruning"

# The target goes away: the next run fails and is retried with backoff;
# the base the target holds stays on the source.
pause_sender
kill -TERM $rpid
wait $rpid 2>/dev/null || true
kill -CONT $spid
for i in $(seq 150); do
	grep -q "job home: run did not complete:.*retry 1 of" "$d/send.log" && break
	sleep 0.1
done
grep -q "job home: run did not complete:.*retry 1 of" "$d/send.log" ||
	fail "no retry after the target went down: $(tail -20 "$d/send.log")"
[ -d "$SRC/snaps/$prev" ] || fail "the target's base $prev was pruned while it was down"
[ "$(ls "$SRC/snaps" | wc -l)" -ge 2 ] || fail "the failed run's snapshot is gone"
grep -q "^home backup .* retry" "$d/sstate/state" 2>/dev/null ||
	note "state: $(cat "$d/sstate/state" 2>/dev/null)"

# What piled up while it was down; the target misses all of it.
piled=$(ls "$SRC/snaps" | grep -vx "$prev")
nlog=$(wc -l < "$d/send.log")
start_receiver 2
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
