# A crash of the receiving host costs at most one checkpoint interval of
# retransmission: kill -9 of the receiving btrsendd and its worker in the
# middle of a transfer, with the progress record ignored as after a
# reboot (BTRSEND_TEST_IGNORE_PROGRESS), so only the last durable
# checkpoint counts.  The rerun resumes no further back than one interval
# (plus a little in flight) before what the first attempt had sent, and
# the received snapshot equals the source.  Checkpoints are acked when
# they are durable, in the background; the next waits for the one before.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
fixture_init
net_fixture d 1G
ckpt=$((8 << 20))
slack=$((2 << 20))      # TLS framing, handshakes, what was in flight
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
start_receiver() {
	BTRSEND_TEST_IGNORE_PROGRESS=1 BTRSEND_CKPT_BYTES=$ckpt \
		net_start_receiver "$d/recv.conf" "$d/recv.log"
	daemon=$NET_RECV_PID
}
start_receiver

net_start_proxy "$d/proxy" -T 300
net_send_conf -p "$NET_PROXY_PORT" "$d/send.conf"
grep -q "127.0.0.1:$NET_PROXY_PORT" "$d/send.conf" || fail "send.conf does not go through the proxy"

btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
dd if=/dev/urandom of="$SRC/src/big" bs=1M count=64 status=none
snap=home.20260101T000000Z
btrfs -q subvolume snapshot -r "$SRC/src" "$SRC/snaps/$snap"

# 64 MiB at 16 MiB/s; the crash comes after about 40 MiB.
"$CTL" send -f "$d/send.conf" --job home --retries 0 --limit 16M \
	--to backup "$SRC/snaps/$snap" > "$d/out1" 2> "$d/err1" &
sender=$!
fixture_track_pid $sender
sleep 2.5
worker=$(pgrep -n -P "$daemon")
[ -n "$worker" ] || fail "no receive worker 2.5 s into the transfer"
kill -0 "$sender" 2>/dev/null || fail "the transfer ended before the crash: $(cat "$d/err1")"
kill -9 "$daemon" "$worker"
wait "$sender" && fail "the first attempt should have failed"
wait "$daemon" 2>/dev/null
sleep 0.5
sent=$(awk '$1 == "c2s" { print $2 }' "$d/proxy.count")
[ "$sent" -gt $((3 * ckpt)) ] || fail "only $sent bytes sent before the crash"

start_receiver
timeout 120 "$CTL" send -f "$d/send.conf" --job home --retries 3 \
	--to backup "$SRC/snaps/$snap" > "$d/out2" 2> "$d/err2" ||
	fail "rerun: $(cat "$d/err2") / receiver: $(tail -5 "$d/recv.log")"
at=$(sed -n 's/.*resuming at command [0-9]*, byte \([0-9]*\)$/\1/p' "$d/out2")
[ -n "$at" ] || fail "the rerun did not resume: $(cat "$d/out2")"
note "sent $sent bytes before the crash, resumed at byte $at (checkpoint interval $ckpt)"
[ $((sent - at)) -le $((ckpt + slack)) ] ||
	fail "resent $((sent - at)) bytes: more than one checkpoint interval ($ckpt) + $slack"
got=$DST/backup/laptop.test/home/$snap
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" "$got" || fail "received snapshot differs"
echo "crash after $sent bytes, resumed at $at: ok"
