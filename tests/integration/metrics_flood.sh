# A flood of connections to the metrics port (issue 16, finding 4) costs
# the daemon at most METRICS_CONNS (16) descriptors.  A receiving
# btrsendd with metrics and a control socket runs with an open-files
# limit of 256 (set after it started, so its own raise does not help),
# and 1100 connections to its metrics port are opened and held.  While
# they are held: the control socket still answers `btrsendctl status`,
# the receive listener still accepts and a transfer completes, and the
# log has no run of accept errors (libevent used to log one per wakeup,
# millions).  Once they are gone, /metrics answers again.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
[ -x /usr/bin/python3 ] || skip "python3 missing (make deps)"
command -v prlimit > /dev/null || skip "prlimit missing (util-linux)"

mport=$((NET_PORT + 1))
sock=$d/control.sock
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
{
	echo "metrics listen 127.0.0.1:$mport"
	printf 'control {\n\tsocket %s\n}\n' "$sock"
} >> "$d/recv.conf"
net_send_conf "$d/send.conf"
net_start_receiver "$d/recv.conf" "$d/recv.log"
prlimit --pid "$NET_RECV_PID" --nofile=256:256 ||
	fail "cannot limit the receiver's open files"
curl -sS -f -m 5 -o /dev/null "http://127.0.0.1:$mport/metrics" ||
	fail "no /metrics before the flood: $(tail -5 "$d/recv.log")"

net_source
dd if=/dev/urandom of="$SRC/src/data" bs=1M count=8 status=none
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"

# 1100 connections, opened without waiting (connect in progress counts),
# held until stdin closes; "opened N" once they are all issued.
cat > "$d/flood.py" <<'PY'
import resource, select, socket, sys, time
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
port, n = int(sys.argv[1]), int(sys.argv[2])
held = []
for i in range(n):
	s = socket.socket()
	s.setblocking(False)
	s.connect_ex(("127.0.0.1", port))
	held.append(s)
time.sleep(2)
print("opened", len(held), flush=True)
sys.stdin.read()
PY
mkfifo "$d/hold"
/usr/bin/python3 "$d/flood.py" "$mport" 1100 < "$d/hold" > "$d/flood.out" 2>&1 &
fpid=$!
fixture_track_pid "$fpid"
exec 9> "$d/hold"
for i in $(seq 100); do
	grep -q "^opened" "$d/flood.out" && break
	kill -0 $fpid 2>/dev/null || fail "flood: $(cat "$d/flood.out")"
	sleep 0.1
done
grep -q "^opened 1100" "$d/flood.out" || fail "flood: $(cat "$d/flood.out")"
sleep 2	# the daemon's loop has seen them all
nfd=$(ls /proc/$NET_RECV_PID/fd | wc -l)
note "receiver: $nfd descriptors open with 1100 metrics connections held"

bad=()
timeout 10 "$CTL" status -s "$sock" > "$d/status" 2>&1 ||
	bad+=("the control socket did not answer: $(cat "$d/status")")
timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
	--to backup "$SRC/snaps/$snap" > "$d/out" 2> "$d/err" ||
	bad+=("the transfer failed: $(tail -3 "$d/err")")
n=$(grep -c "accept" "$d/recv.log")
note "receiver log: $n lines about accept"
[ "$n" -le 10 ] || bad+=("$n accept lines in the log: $(grep accept "$d/recv.log" | sort | uniq -c | sort -rn | head -3)")
grep -q "metrics: 16 connections open, the most served at once" "$d/recv.log" ||
	bad+=("no line saying the metrics connections are at their limit")
[ "$nfd" -lt 200 ] || bad+=("$nfd descriptors open in the receiver")

exec 9>&-	# the flood ends
wait $fpid 2>/dev/null
ok=
for i in $(seq 50); do
	curl -s -f -m 5 -o /dev/null "http://127.0.0.1:$mport/metrics" && { ok=1; break; }
	sleep 0.2
done
[ -n "$ok" ] || bad+=("/metrics does not answer after the flood")
kill -0 "$NET_RECV_PID" 2>/dev/null || bad+=("the receiver died: $(tail -5 "$d/recv.log")")
[ ${#bad[@]} -eq 0 ] || fail "$(printf '%s; ' "${bad[@]}")"
check_received "$SRC/snaps/$snap" "$DST/backup/laptop.test/home/$snap"
echo "1100 metrics connections held: control answers, transfer completes, $n accept log lines: ok"
