# snapshot-if-changed yes, on two real btrsendd over TLS (`every 3s`):
#  * a source unchanged since the job's newest snapshot (made here by
#    hand, never sent) gets no new snapshot ("unchanged since SNAP: no
#    snapshot"), and the run still sends the target what it misses (that
#    snapshot, in full);
#  * once the source changed, the next run takes a snapshot and sends it,
#    incremental from the previous one;
#  * the run after that, with no change, again takes none.
# `btrsendd -nv` prints the key, "no" by default.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_source
s0=home.$(date -u -d "1 hour ago" +%Y%m%dT%H%M%SZ)
btrfs -q subvolume snapshot -r "$SRC/src" "$SRC/snaps/$s0"

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_send_conf -s "$d/sstate" "$d/plain.conf"
net_job_conf "$d/plain.conf" "every 3s"
"$BTRSENDD" -nv -f "$d/plain.conf" 2>/dev/null | grep -q "^	snapshot-if-changed no$" ||
	fail "-nv does not print snapshot-if-changed no by default"
net_send_conf -s "$d/sstate" "$d/send.conf"
net_job_conf "$d/send.conf" "every 3s" "snapshot-if-changed yes"
net_check_conf "$d/recv.conf" receiver
net_check_conf "$d/send.conf" sender
"$BTRSENDD" -nv -f "$d/send.conf" 2>/dev/null | grep -q "^	snapshot-if-changed yes$" ||
	fail "-nv does not print snapshot-if-changed yes"
area=$DST/backup/laptop.test/home

net_start_receiver "$d/recv.conf" "$d/recv.log" 1
net_start_sender "$d/send.conf" "$d/send.log"
spid=$NET_SEND_PID

# Unchanged: no snapshot, but the target gets the one it misses.
net_wait_sender "job home: run ok" 1 30
net_pause_sender
[ "$(ls "$SRC/snaps")" = "$s0" ] || fail "run 1: snapshots [$(ls "$SRC/snaps" | tr '\n' ' ')], expected only $s0"
grep -q "job home: unchanged since $s0: no snapshot" "$d/send.log" || fail "run 1: no 'unchanged' line"
grep -q ": sent $s0 to backup, full\$" "$d/send.log" || fail "run 1: $s0 not sent"
[ -d "$area/$s0" ] || fail "run 1: $s0 not on the target"
grep -q "job home: run ok: no new snapshot," "$d/send.log" || fail "run 1: run ok line: $(grep "run ok" "$d/send.log")"

# Changed: a snapshot, sent incrementally.
scenario_mutate "$SRC/src" 1
kill -CONT $spid
net_wait_sender "job home: run ok" 2 30
net_pause_sender
s1=$(ls "$SRC/snaps" | grep -vx "$s0")
[ "$(echo "$s1" | wc -w)" = 1 ] || fail "run 2: snapshots [$(ls "$SRC/snaps" | tr '\n' ' ')]"
grep -q ": sent $s1 to backup, incremental from $s0\$" "$d/send.log" || fail "run 2: $s1 not sent from $s0"

# Unchanged again.
kill -CONT $spid
net_wait_sender "job home: run ok" 3 30
net_pause_sender
[ "$(ls "$SRC/snaps" | wc -l)" = 2 ] || fail "run 3: snapshots [$(ls "$SRC/snaps" | tr '\n' ' ')]"
grep -q "job home: unchanged since $s1: no snapshot" "$d/send.log" || fail "run 3: no 'unchanged since $s1' line"
grep -q "job home: target backup: nothing missing" "$d/send.log" || fail "run 3: no 'nothing missing'"
kill -CONT $spid
echo "daemon_if_changed: ok"
