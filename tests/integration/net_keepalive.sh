# Keepalives (issue 6): with `timeout 2s` on both ends, a connection on
# which one side has nothing to send for 6 s must stay up, because the
# busy side sends KEEPALIVE every third of its timeout.  Test-only hooks
# make each side go quiet: BTRSEND_TEST_PAUSE_AT=N:SECS pauses the sender
# before command N (a slow kernel or a long fast-forward), and
# BTRSEND_TEST_RECV_PAUSE=SECS pauses the receive worker before it
# finishes the snapshot (a slow syncfs) while the sender waits for DONE.
# With --retries 0 any timeout would fail the send; nothing may resume.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup" "timeout 2s"
BTRSEND_TEST_RECV_PAUSE=6 net_start_receiver "$d/recv.conf" "$d/recv.log"
net_send_conf "$d/send.conf" "timeout 2s"

net_source
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"
ncmds=$(btrfs send -q "$SRC/snaps/$snap" | btrfs receive --dump | wc -l)
at=$((ncmds / 2))
start=$(date +%s)
BTRSEND_TEST_PAUSE_AT=$at:6 timeout 60 "$CTL" send -f "$d/send.conf" \
	--job home --retries 0 --to backup "$SRC/snaps/$snap" \
	> "$d/out" 2> "$d/err" ||
	fail "send: $(cat "$d/err") / receiver: $(tail -5 "$d/recv.log")"
end=$(date +%s)
cat "$d/out" "$d/err" >&2
grep -q "TEST: pausing 6 s before command $at" "$d/err" ||
	fail "the sender did not pause: $(cat "$d/err")"
grep -q "TEST: pausing 6 s before finishing" "$d/recv.log" ||
	fail "the receiver did not pause: $(cat "$d/recv.log")"
[ $((end - start)) -ge 12 ] || fail "both pauses should take 12 s, took $((end - start))"
! grep -qi "timeout" "$d/err" "$d/recv.log" ||
	fail "a timeout although keepalives flowed: $(grep -i timeout "$d/err" "$d/recv.log")"
! grep -q "resuming" "$d/out" || fail "the transfer was interrupted: $(cat "$d/out")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" \
	"$DST/backup/laptop.test/home/$snap" || fail "received snapshot differs"
echo "quiet for 6 s on each side with a 2 s timeout, kept up by keepalives: ok"
