# A transfer through the fault-injecting proxy survives cut connections:
# the sender reconnects, the receiver answers with its checkpoint, the
# sender regenerates the stream and fast-forwards (digest checked), and
# the received snapshot equals the source.  Client bytes through the
# proxy stay within stream size + 5% + one checkpoint interval per cut.
# Then kill -9 of the receive worker mid-transfer: the rerun of the same
# command resumes and completes.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 1G
ckpt=$((4 << 20))

net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
BTRSEND_CKPT_BYTES=$ckpt net_start_receiver "$d/recv.conf" "$d/recv.log"
daemon=$NET_RECV_PID

# The sender goes through the proxy; cuts after 7 MB on each of the
# first two connections.
net_start_proxy "$d/proxy" -c 7000000,7000000 -T 300
net_send_conf -p "$NET_PROXY_PORT" "$d/send.conf"

net_source
snap_ro "$SRC/src" "$SRC/snaps/home.20260101T000000Z"
timeout 120 "$CTL" send -f "$d/send.conf" --job home --retries 4 --to backup \
	"$SRC/snaps/home.20260101T000000Z" > "$d/out" 2> "$d/err" ||
	fail "send: $(cat "$d/err") / receiver: $(tail -5 "$d/recv.log")"
cat "$d/out" "$d/err" >&2
got=$DST/backup/laptop.test/home/home.20260101T000000Z
# Each cut worker's "kept for resume at command N, byte O" (N: commands
# applied, the index of the next one) is where the next attempt resumed.
kept=$(sed -n 's/.*partial home.20260101T000000Z kept for resume at command \([0-9]*\), byte \([0-9]*\)$/\1 \2/p' "$d/recv.log")
resumed=$(sed -n 's/.*: resuming at command \([0-9]*\), byte \([0-9]*\)$/\1 \2/p' "$d/out")
[ -n "$kept" ] && [ "$kept" = "$resumed" ] ||
	fail "the receiver logged kept for resume at '$(echo $kept)', the sender resumed at '$(echo $resumed)'"
"$TOOLS/treecmp" "$SRC/snaps/home.20260101T000000Z" "$got" || fail "received snapshot differs"
[ "$(grep -c "resuming at command" "$d/out")" = 2 ] || fail "expected two resumes: $(cat "$d/out")"
size=$(sed -n 's/.* commands, \([0-9]*\) bytes).*/\1/p' "$d/out")
# The sender's summary counts the bytes of the last connection only; the
# stream's size is where the last DATA ended: the END offset.
total=$(grep -o '[0-9]* bytes)$' "$d/out" | head -1)
sleep 0.5
c2s=$(awk '$1 == "c2s" { print $2 }' "$d/proxy.count")
cuts=$(awk '$1 == "cuts" { print $2 }' "$d/proxy.count")
[ "$cuts" = 2 ] || fail "proxy made $cuts cuts"
stream=$(btrfs send -q "$SRC/snaps/home.20260101T000000Z" | wc -c)
bound=$((stream + stream / 20 + cuts * ckpt))
note "stream $stream bytes, client bytes through proxy $c2s, bound $bound ($cuts cuts)"
[ "$c2s" -le "$bound" ] || fail "resent too much: $c2s client bytes for a $stream-byte stream"
[ "$c2s" -ge "$stream" ] || fail "fewer bytes than the stream passed ($c2s < $stream)?"

# kill -9 of the receive worker in the middle of a transfer; the same
# command run again resumes.
net_send_conf "$d/send.conf"
scenario_mutate "$SRC/src" 1
dd if=/dev/urandom of="$SRC/src/big" bs=1M count=48 status=none
snap_ro "$SRC/src" "$SRC/snaps/home.20260102T000000Z"
timeout 120 "$CTL" send -f "$d/send.conf" --job home --retries 0 --limit 8M \
	--to backup "$SRC/snaps/home.20260102T000000Z" > "$d/out2" 2> "$d/err2" &
sender=$!
fixture_track_pid $sender
worker=
for i in $(seq 100); do
	worker=$(pgrep -P "$daemon" | head -1)
	[ -n "$worker" ] && break
	sleep 0.05
done
[ -n "$worker" ] || fail "no receive worker appeared"
sleep 3
kill -9 "$worker"
wait "$sender" && fail "sender succeeded although its receiver was killed"
note "first try: $(tail -1 "$d/err2")"
timeout 120 "$CTL" send -f "$d/send.conf" --job home --to backup \
	"$SRC/snaps/home.20260102T000000Z" > "$d/out3" 2> "$d/err3" ||
	fail "rerun: $(cat "$d/err3") / receiver: $(tail -5 "$d/recv.log")"
grep -q "resuming at command" "$d/out3" || fail "rerun did not resume: $(cat "$d/out3")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/home.20260102T000000Z" \
	"$DST/backup/laptop.test/home/home.20260102T000000Z" || fail "after kill -9: differs"
note "after kill -9: $(cat "$d/out3" | tr '\n' ' ')"
echo "resume after cuts and kill -9: ok"
