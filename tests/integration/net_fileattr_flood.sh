# A client's FILEATTR flood over real TLS into a sandboxed receive worker
# (issue 16, finding 3): the transfer lands with every flag applied, and
# the worker's peak RSS stays under 64 MiB.  Before the flags spilled to
# disk, 600k immutable FILEATTR commands took a worker past 96 MB; before
# open_by_handle_at was in the receive worker's seccomp list, applying
# them at END killed it (SIGSYS).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
fixture_init
net_fixture d 1024M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_start_receiver_new "$d/recv.conf" "$d/recv.log"
n=${FLOOD:-600000}
limit_kib=$((64 * 1024))

"$TOOLS/mkfileattr" "$d/flood" flood 1000 "$n" i || fail "mkfileattr"
note "flood: $n FILEATTR commands, $(stat -c %s "$d/flood") bytes"
TLSPEER_ALARM=600 TLSPEER_TIMEOUT=300 NET_PEER_SECS=600 \
	net_peer -S "$d/flood" -J flood > "$d/out" 2>&1 &
tp=$!
fixture_track_pid "$tp"
peak=0
while kill -0 "$tp" 2>/dev/null; do
	for p in $(pgrep -P "$NET_RECV_PID"); do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
	done
	sleep 0.2
done
wait "$tp"
rc=$?
cat "$d/out" >&2
note "receive worker peak RSS: $peak KiB (limit $limit_kib KiB)"
[ "$rc" = 0 ] || fail "the flood was not received (tlspeer exit $rc): $(tail -3 "$d/recv.log.new")"
grep -q "killed by its seccomp filter" "$d/recv.log.new" &&
	fail "the receive worker was killed by its seccomp filter"
[ "$peak" -gt 0 ] || fail "no receive worker was seen"
[ "$peak" -lt "$limit_kib" ] ||
	fail "receive worker peak RSS $peak KiB >= $limit_kib KiB"
snap=$DST/backup/laptop.test/flood/flood
[ -d "$snap" ] || fail "flood/flood did not land"
flagged=$(lsattr "$snap/d" | awk '$1 ~ /[ia]/' | wc -l)
[ "$flagged" = 1000 ] ||
	fail "$flagged of the 1000 files carry their immutable/append-only flag"
[ "$(lsattr -d "$snap" | cut -d' ' -f1 | tr -cd 'i')" = i ] ||
	fail "$snap: the root lost its immutable flag"
echo "net_fileattr_flood: ok"
