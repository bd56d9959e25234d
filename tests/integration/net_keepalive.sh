# Keepalives (issue 6): with `timeout 2s` on both ends, a connection on
# which one side has nothing to send for 6 s must stay up, because the
# busy side sends KEEPALIVE every third of its timeout.  Test-only hooks
# make each side go quiet: BTRSEND_TEST_PAUSE_AT=N:SECS pauses the sender
# before command N (a slow kernel or a long fast-forward), and
# BTRSEND_TEST_RECV_PAUSE=SECS pauses the receive worker before it
# finishes the snapshot (a slow syncfs) while the sender waits for DONE.
# With --retries 0 any timeout would fail the send; nothing may resume.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
btrfs_fs SRC 512M
btrfs_fs DST 512M
d=$(scratch_dir)
"$TOP/tests/lib/mkcerts.sh" "$d/certs" >/dev/null || fail "mkcerts"
mkdir -p "$DST/backup"
port=$((20000 + RANDOM % 20000))
cat > "$d/recv.conf" <<CONF
tls {
	certificate $d/certs/backup.test.crt
	key $d/certs/backup.test.key
	ca $d/certs/ca.crt
}
state-dir $d/state
receive {
	listen 127.0.0.1:$port
	root $DST/backup
	timeout 2s
	client laptop.test
}
CONF
BTRSEND_TEST_RECV_PAUSE=6 "$BTRSENDD" -d -v -f "$d/recv.conf" \
	2> "$d/recv.log" &
fixture_track_pid $!
for i in $(seq 100); do grep -q "receiving into" "$d/recv.log" && break; sleep 0.05; done
grep -q "receiving into" "$d/recv.log" || fail "receiver did not start: $(cat "$d/recv.log")"
cat > "$d/send.conf" <<CONF
tls {
	certificate $d/certs/laptop.test.crt
	key $d/certs/laptop.test.key
	ca $d/certs/ca.crt
}
target backup {
	address 127.0.0.1:$port
	name backup.test
	timeout 2s
}
CONF

btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
scenario_populate "$SRC/src" small
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
