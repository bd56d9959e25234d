# SIGHUP while a job's transfer runs (two real btrsendd, TLS on loopback,
# the target's bandwidth limited so the transfer takes ~12 s):
#  1. a broken config: the error is logged with file:line:column, the
#     running configuration is kept, the transfer goes on;
#  2. a good changed config (a new job, and the running job's schedule
#     shortened from every 20s to every 2s): the new job runs at once,
#     beside the transfer, and is received; the running transfer is not
#     disturbed (same worker, no retry, no resume, received once) and
#     completes identically; the job's next run follows the new schedule.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
fixture_init
net_fixture d 512M
for j in home etc; do
	btrfs -q subvolume create "$SRC/$j" || fail "subvolume create $j"
	mkdir "$SRC/snaps-$j"
done
dd if=/dev/urandom of="$SRC/home/big" bs=1M count=48 status=none
echo "fresh" > "$SRC/home/small"
printf 'nameserver 192.0.2.1\n' > "$SRC/etc/resolv.conf"
mkdir "$SRC/etc/ssh" && echo "Port 22" > "$SRC/etc/ssh/sshd_config"

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
# sendconf HOME-SCHEDULE [EXTRA]: the sender's $d/send.conf, EXTRA appended.
sendconf() {
	net_send_conf -s "$d/sstate" "$d/send.conf" "bandwidth 4M"
	cat >> "$d/send.conf" <<CONF
job home {
	source       $SRC/home
	snapshot-dir $SRC/snaps-home
	schedule     $1
	send-to      backup
}
CONF
	[ -z "${2:-}" ] || printf '%s\n' "$2" >> "$d/send.conf"
}
etcjob="job etc {
	source       $SRC/etc
	snapshot-dir $SRC/snaps-etc
	schedule     every 30s
	send-to      backup
}"
sendconf "every 20s"
net_check_conf "$d/send.conf" sender

net_start_receiver "$d/recv.conf" "$d/recv.log"
rpid=$NET_RECV_PID
net_start_sender "$d/send.conf" "$d/send.log"
spid=$NET_SEND_PID

# wait_log FILE PATTERN SECONDS [COUNT]: until FILE has COUNT lines matching.
wait_log() {
	local i
	for i in $(seq $(($3 * 10))); do
		[ "$(grep -c -- "$2" "$1")" -ge "${4:-1}" ] && return 0
		kill -0 $spid 2>/dev/null || fail "sender died: $(tail -20 "$d/send.log")"
		kill -0 $rpid 2>/dev/null || fail "receiver died: $(tail -20 "$d/recv.log")"
		sleep 0.1
	done
	fail "no '$2' in $3 s in $1: $(tail -20 "$1")"
}
# The transfer is under way: the receiver has begun the subvolume.
wait_log "$d/recv.log" ": receiving home/home\." 10
sleep 1
worker=$(sed -n 's/.*job home: run started (id [0-9]*, worker \([0-9]*\)).*/\1/p' "$d/send.log")
[ -n "$worker" ] || fail "no worker pid logged: $(cat "$d/send.log")"
h1=$(sed -n 's/.*: receiving home\/\(home\.[0-9TZ]*\).*/\1/p' "$d/recv.log")
[ -d "$SRC/snaps-home/$h1" ] || fail "receiving $h1, which is not a local snapshot"
grep -q ": received laptop.test/home/$h1 " "$d/recv.log" && fail "$h1 finished before the first reload: no transfer to reload under"

# 1. A broken config: file:line:column, the old one kept.
sendconf "every 20s" "$etcjob"
sed -i '/schedule     every 30s/s/every 30s/whenever/' "$d/send.conf"
bad=$(grep -n 'schedule     whenever' "$d/send.conf" | cut -d: -f1)
kill -HUP $spid
wait_log "$d/send.log" "reload failed" 5
grep -q "$d/send.conf:$bad:[0-9]*: .*whenever" "$d/send.log" ||
	fail "broken config error without file:$bad:column: $(grep -A3 reloading "$d/send.log")"
grep -q "configuration reloaded" "$d/send.log" && fail "the broken config was applied"
kill -0 "$worker" 2>/dev/null || fail "the transfer's worker $worker died at the broken reload"
grep -q ": received laptop.test/home/$h1 " "$d/recv.log" && fail "$h1 finished before the second reload"
sleep 1

# 2. A good config: a new job, and the running job's schedule changed.
sendconf "every 2s" "$etcjob"
kill -HUP $spid
wait_log "$d/send.log" "configuration reloaded: 2 jobs" 5
wait_log "$d/send.log" "job etc: run ok" 20
kill -0 "$worker" 2>/dev/null || fail "etc ran, but home's worker $worker is gone"
grep -q "job home: run ok" "$d/send.log" &&
	fail "home's transfer finished before the new job ran beside it"
e1=$(ls "$SRC/snaps-etc")
[ "$(echo "$e1" | wc -l)" = 1 ] || fail "etc snapshots: $e1"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps-etc/$e1" "$DST/backup/laptop.test/etc/$e1" ||
	fail "the new job's snapshot $e1 differs on the target"

# The transfer completes, undisturbed.
wait_log "$d/send.log" "job home: run ok" 30
t_ok=$(date +%s%N)
grep -q "job home: run ok: snapshot $h1," "$d/send.log" ||
	fail "home's first run ended with another snapshot: $(grep 'job home: run ok' "$d/send.log")"
[ "$(awk '/job home: run ok/ { exit } /job home: run started/ { n++ } END { print n }' "$d/send.log")" = 1 ] ||
	fail "home's run was restarted: $(grep 'job home:' "$d/send.log")"
! sed '/job home: run ok/q' "$d/send.log" | grep -q "job home: run did not complete\|resuming at command\|send: retrying" ||
	fail "home's transfer was disturbed: $(grep 'did not complete\|resuming\|retrying' "$d/send.log")"
kill -0 "$worker" 2>/dev/null && fail "worker $worker still runs after its run ended"
[ "$(grep -c ": receiving home/$h1" "$d/recv.log")" = 1 ] ||
	fail "$h1 received more than once: $(grep ": receiving home/" "$d/recv.log")"
grep -q ": received laptop.test/home/$h1 " "$d/recv.log" || fail "receiver did not log $h1 as received"
got=$DST/backup/laptop.test/home/$h1
check_received "$SRC/snaps-home/$h1" "$got"

# The new schedule: every 2s counts from the run's start, ~12 s ago, so
# the next run is due at once (the old every 20s: ~8 s from now).
wait_log "$d/send.log" "job home: run started" 3 2
ms=$(( ($(date +%s%N) - t_ok) / 1000000 ))
note "home's next run started ${ms} ms after the first ended"
wait_log "$d/send.log" "job home: run ok" 20 2
h2=$(sed -n 's/.*job home: run ok: snapshot \(home\.[0-9TZ]*\),.*/\1/p' "$d/send.log" | sed -n 2p)
grep -q "sent $h2 to backup, incremental from $h1" "$d/send.log" ||
	fail "$h2 not sent incrementally from $h1: $(grep "sent $h2" "$d/send.log")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps-home/$h2" "$DST/backup/laptop.test/home/$h2" ||
	fail "$h2 differs on the target"

grep -q "^etc - [0-9]* [0-9]* ok" "$d/sstate/state" || fail "state: $(cat "$d/sstate/state")"
grep -q "^home backup [0-9]* [0-9]* ok" "$d/sstate/state" || fail "state: $(cat "$d/sstate/state")"
grep -q "^etc backup [0-9]* [0-9]* ok" "$d/sstate/state" || fail "state: $(cat "$d/sstate/state")"
left=$(find "$DST/backup" -maxdepth 4 -name '.btrsend-*' | head -5)
[ -z "$left" ] || fail "leftovers in the receive area: $left"
kill -TERM $spid
wait $spid || fail "sender: exit $? after SIGTERM"
kill -TERM $rpid
wait $rpid || fail "receiver: exit $? after SIGTERM"
echo "daemon_reload_xfer: ok"
