# One manual run (`btrsendctl run`) against a target that is down: the
# run and its backoff retries take one snapshot between them, not one
# each (a retry sends the snapshot its run took again; one such run used
# to leave 7); once the target is up, the next retry delivers that same
# snapshot, and it is still the only one taken.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_source
sock=$d/ctl.sock
net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_send_conf -s "$d/sstate" "$d/send.conf"
net_job_conf "$d/send.conf" manual
printf 'control {\n\tsocket %s\n}\n' "$sock" >> "$d/send.conf"
net_check_conf "$d/recv.conf" receiver
net_check_conf "$d/send.conf" sender
area=$DST/backup/laptop.test/home

net_start_sender "$d/send.conf" "$d/send.log"
"$CTL" run -s "$sock" home > /dev/null || fail "btrsendctl run home"
# The run and its first retry (10 s later) fail; the source changes
# between them.
net_wait_sender "job home: run did not complete" 1 30
snap=$(ls "$SRC/snaps")
[ "$(echo "$snap" | wc -w)" = 1 ] || fail "first attempt: snapshots [$snap]"
scenario_mutate "$SRC/src" 1
net_wait_sender "job home: run did not complete" 2 30
[ "$(ls "$SRC/snaps")" = "$snap" ] ||
	fail "the retry took a new snapshot: [$(ls "$SRC/snaps" | tr '\n' ' ')], the run took $snap"
grep -q "job home: run started (id [0-9]*, worker [0-9]*), a retry sending again $snap" "$d/send.log" ||
	fail "no retry line naming $snap: $(grep "run started" "$d/send.log")"

# The target is back: the second retry (20 s later) delivers it.
net_start_receiver "$d/recv.conf" "$d/recv.log" 1
net_wait_sender "job home: run ok" 1 40
grep -q "job home: run ok: snapshot $snap," "$d/send.log" ||
	fail "the retry delivered another snapshot: $(grep "run ok" "$d/send.log")"
[ "$(ls "$SRC/snaps")" = "$snap" ] || fail "after delivery: snapshots [$(ls "$SRC/snaps" | tr '\n' ' ')]"
[ "$(ls "$area")" = "$snap" ] || fail "target holds [$(ls "$area" | tr '\n' ' ')], expected $snap"
[ "$(grep -c "job home: run started" "$d/send.log")" = 3 ] ||
	fail "expected the run and 2 retries: $(grep "run started" "$d/send.log")"
echo "daemon_retry_manual: ok"
