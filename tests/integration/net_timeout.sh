# Timeouts (issue 6): with `timeout 3s` on both ends, the fault proxy
# stalls the first connection (and, being single-threaded, every other)
# for 9 s in the middle of a transfer.  The sender must drop the stalled
# connection (its write or read times out), the receive worker must log
# a timeout, keep its partial and exit, and the sender's reconnects
# (whose TLS handshakes time out while the proxy sleeps) must end in a
# resume that completes an identical snapshot.
# First, the TLS handshake is bounded on both ends: a proxy that passes
# one byte of the ClientHello and then sleeps makes the sender and the
# receive worker each give up after the timeout.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 1G
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup" "timeout 3s"
BTRSEND_CKPT_BYTES=$((2 << 20)) net_start_receiver "$d/recv.conf" "$d/recv.log"

net_start_proxy "$d/hs" -s 1:10 -T 60
hport=$NET_PROXY_PORT
net_start_proxy "$d/proxy" -s 8000000:9 -T 200
net_send_conf -p "$NET_PROXY_PORT" "$d/send.conf" "timeout 3s"
cat >> "$d/send.conf" <<CONF
target stuck {
	address 127.0.0.1:$hport
	name backup.test
	timeout 3s
}
CONF

net_source
dd if=/dev/urandom of="$SRC/src/big" bs=1M count=48 status=none
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"
# the handshake that never completes
start=$(date +%s)
timeout 30 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
	--to stuck "$SRC/snaps/$snap" > "$d/hs.out" 2> "$d/hs.err" &&
	fail "a send through a sleeping proxy succeeded"
end=$(date +%s)
grep -q "send to stuck: .*(timeout)" "$d/hs.err" ||
	fail "the sender's handshake did not time out: $(cat "$d/hs.err")"
[ $((end - start)) -lt 8 ] || fail "the sender's handshake took $((end - start)) s"
for i in $(seq 50); do grep -q "connection refused: .*(timeout)" "$d/recv.log" && break; sleep 0.1; done
grep -q "connection refused: .*(timeout)" "$d/recv.log" ||
	fail "the receiver's handshake did not time out: $(cat "$d/recv.log")"
note "handshake: $(head -1 "$d/hs.err") / $(grep "connection refused" "$d/recv.log")"

start=$(date +%s)
timeout 100 "$CTL" send -f "$d/send.conf" --job home --retries 8 \
	--to backup "$SRC/snaps/$snap" > "$d/out" 2> "$d/err" ||
	fail "send: $(cat "$d/err") / receiver: $(tail -5 "$d/recv.log")"
end=$(date +%s)
cat "$d/out" "$d/err" >&2
# the stalled proxy stops reading: the sender's write times out
grep -q "send to backup: sending data: peer accepted no data for 3 s (timeout)" "$d/err" ||
	fail "the sender logged no write timeout: $(cat "$d/err")"
grep -q "laptop.test: timeout: peer sent nothing for 3 s (timeout)" "$d/recv.log" ||
	fail "the receiver logged no timeout: $(cat "$d/recv.log")"
grep -q "partial $snap kept for resume at command [0-9]*, byte [0-9]*" "$d/recv.log" ||
	fail "the timed-out worker kept no partial: $(cat "$d/recv.log")"
grep -q "resuming at command [1-9]" "$d/out" ||
	fail "the transfer did not resume: $(cat "$d/out")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" \
	"$DST/backup/laptop.test/home/$snap" || fail "received snapshot differs"
note "stalled 9 s with a 3 s timeout; done in $((end - start)) s"
echo "stall longer than the timeout: both ends timed out, resumed, identical: ok"
