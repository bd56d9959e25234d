# Authentication before any process is spent (issue 16, finding 2), on
# the REAL daemon (btrsendd -d receiving) and the real sender
# (btrsendctl send --to), over loopback, with sources spread over
# 127.0.0.0/8 (Linux routes all of it to lo) to play many hosts:
#  a. 300 idle TCP connections (no TLS byte) from 38 addresses, each one
#     the server closes reopened a second later, as an attacker would:
#     no receive worker exists for any of them, and a listed client's
#     send completes meanwhile (before: 256 workers, one per connection,
#     and the client got EOF);
#  b. a ClientHello trickled one byte a second is dropped at the
#     handshake-timeout (2 s here), the log naming the address (before:
#     every byte restarted the 60 s timeout);
#  c. a connection beyond max-handshakes-per-address from one address is
#     closed at once, the log naming the address, while a listed client
#     from elsewhere still gets through;
#  d. a certificate from the CA whose name is not listed gets no worker
#     and is told why (before: a worker was forked for it);
#  e. max-transfers-per-client: with 1, a second connection of the same
#     client is told to retry later (ERROR resource) while the first is
#     open, and gets through once it closed.
# The figures of (a) are printed: connections held, transfer time.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
command -v python3 > /dev/null || skip "python3 not installed"
TLSPEER=$TOOLS/tlspeer
[ -x "$TLSPEER" ] || fail "$TLSPEER not built"
net_fixture d 256M
port=$NET_PORT
c=$d/certs
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup" \
	"handshake-timeout 2s" "max-transfers-per-client 1"
net_check_conf "$d/recv.conf" receiver
net_send_conf "$d/send.conf"
net_start_receiver_new "$d/recv.conf" "$d/recv.log"
daemon=$NET_RECV_PID
net_log_mark "$d/recv.log.new"

btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
n=0
# send_ok WHAT: a new snapshot with 4 MiB more sent by the listed
# client, or fail; its time in SECS
send_ok() {
	n=$((n + 1))
	local snap=home.2026010${n}T000000Z t0
	dd if=/dev/urandom of="$SRC/src/f$n" bs=1M count=4 status=none
	snap_ro "$SRC/src" "$SRC/snaps/$snap"
	t0=$(date +%s.%N)
	timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 0 --to backup \
		"$SRC/snaps/$snap" > "$d/out" 2> "$d/err" ||
		fail "$1: the listed client's send failed: $(cat "$d/err") / receiver: $(tail -5 "$d/recv.log.new")"
	SECS=$(echo "$(date +%s.%N) - $t0" | bc)
	[ -d "$DST/backup/laptop.test/home/$snap" ] || fail "$1: $snap not received"
}
workers() { pgrep -P "$daemon" | wc -l; }

# flood.py PORT N NET PER FILE: connections that send nothing, N of
# them, PER to an address of 127.0.NET.x, each reopened a second after
# the server closed it, until killed.  In FILE, refreshed every 0.2 s:
# "OPEN OPENED CLOSED FIRST": open now, opened and closed by the server
# in all, and open 1 s after the first ones were made (-1 until then).
cat > "$d/flood.py" <<'PY'
import errno, os, socket, sys, time
port, n, net, per, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
slots, since = [None] * n, [0.0] * n
opened = refused = 0
first = -1
def conn(i):
	global opened
	s = socket.socket()
	s.bind(("127.0.%s.%d" % (net, 1 + i // per), 0))
	s.setblocking(False)	# a SYN dropped from a full backlog is resent
	if s.connect_ex(("127.0.0.1", port)) not in (0, errno.EINPROGRESS):
		s.close()
		s = None
	else:
		opened += 1
	slots[i], since[i] = s, time.time()
def alive(s):
	try:
		return s.recv(1, socket.MSG_PEEK) != b""
	except BlockingIOError:
		return True
	except OSError:
		return False
start = time.time()
for i in range(n):
	conn(i)
while True:
	held = 0
	for i in range(n):
		if slots[i] is not None and alive(slots[i]):
			held += 1
			continue
		if slots[i] is not None:
			slots[i].close()
			slots[i] = None
			refused += 1
			since[i] = time.time()
		if time.time() - since[i] >= 1:
			conn(i)
	if first == -1 and time.time() - start >= 1:
		first = held
	with open(out + ".tmp", "w") as f:
		f.write("%d %d %d %d\n" % (held, opened, refused, first))
	os.rename(out + ".tmp", out)
	time.sleep(0.2)
PY
# flood_stats FILE: OPEN OPENED CLOSED FIRST of flood.py's FILE
flood_stats() { read -r OPEN OPENED CLOSED FIRST < "$1"; }
# Established connections on the receiver's side of the port.
server_side() { ss -Htn state established "( sport = :$port )" | wc -l; }

# a. 300 idle connections from 38 addresses (8 each, the last 4)
send_ok "a (without connections in the way)"
quiet=$SECS
python3 "$d/flood.py" "$port" 300 1 8 "$d/a.stats" 2> "$d/a.err" &
flood=$!
fixture_track_pid "$flood"
for i in $(seq 300); do [ -s "$d/a.stats" ] && break; sleep 0.1; done
[ -s "$d/a.stats" ] || fail "the flood did not start: $(cat "$d/a.err")"
sleep 2
w=$(workers)
[ "$w" = 0 ] || fail "a: $w receive workers run for connections that sent nothing: $(pgrep -a -P "$daemon")"
for i in $(seq 100); do
	flood_stats "$d/a.stats"
	[ "$OPENED" -ge 300 ] && break
	sleep 0.1
done
[ "$OPENED" -ge 300 ] || fail "a: only $OPENED connections could be opened"
inhs=$(server_side)
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$daemon/status")
send_ok "a (300 idle connections)"
inhs_after=$(server_side)
flood_stats "$d/a.stats"
opened=$OPENED
note "a: 300 idle connections kept up from 38 addresses, $opened opened in all: $inhs established on the receiver's side when the send began, $inhs_after when it ended"
echo "FIGURES: 300 unauthenticated connections kept up ($opened opened, each reopened a second after the receiver closed it), $inhs of them held in handshake by the receiver, 0 processes, the daemon's RSS $rss KiB; the listed client's 4 MiB send took $SECS s (without them: $quiet s)"
grep -q "max-handshakes" "$d/recv.log.new" ||
	fail "a: no line about the handshake table being full: $(tail -5 "$d/recv.log.new")"
w=$(workers)
[ "$w" = 0 ] || fail "a: $w receive workers left after the send"
kill "$flood"
wait "$flood" 2>/dev/null
net_log_mark "$d/recv.log.new"

# b. a ClientHello one byte a second: dropped at 2 s, not after 60 s
python3 - "$port" > "$d/b.out" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.2.1", 0))
s.connect(("127.0.0.1", int(sys.argv[1])))
t = time.time()
hello = bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]) + bytes(64)
for b in hello:
	try:
		s.send(bytes([b]))
		s.settimeout(1)
		if s.recv(1) == b"":
			break
	except socket.timeout:
		continue
	except OSError:
		break
print("%.1f" % (time.time() - t))
PY
trickle=$!
fixture_track_pid "$trickle"
wait "$trickle" || fail "b: the trickling client failed"
took=$(cat "$d/b.out")
note "b: a ClientHello trickled a byte a second was dropped after $took s"
[ "$(echo "$took < 5" | bc)" = 1 ] ||
	fail "b: the trickled handshake lasted $took s, handshake-timeout is 2 s"
net_log_says "connection refused: client 127\.0\.2\.1:[0-9]+: no complete TLS handshake within 2 s \(timeout\)" "b: trickled ClientHello"

# c. 20 connections from one address: 8 (the default cap) held, 12 closed at once
python3 "$d/flood.py" "$port" 20 3 20 "$d/c.stats" 2> "$d/c.err" &
flood=$!
fixture_track_pid "$flood"
FIRST=-1
for i in $(seq 100); do
	[ -s "$d/c.stats" ] && flood_stats "$d/c.stats"
	[ "$FIRST" != -1 ] && break
	sleep 0.1
done
[ "$FIRST" != -1 ] || fail "c: the flood did not start: $(cat "$d/c.err")"
note "c: 20 connections from 127.0.3.1: $FIRST held after 1 s, the others closed at once ($CLOSED closings by the receiver, reopenings included)"
[ "$FIRST" = 8 ] ||
	fail "c: of 20 connections from one address $FIRST were held after 1 s (want 8): $(tail -5 "$d/recv.log.new")"
net_log_says "connection refused: client 127\.0\.3\.1:[0-9]+: 8 connections from 127\.0\.3\.1 already in TLS handshake \(max-handshakes-per-address\)" "c: per-address cap"
send_ok "c (8 connections from one other address)"
kill "$flood"
wait "$flood" 2>/dev/null
sleep 2.5	# their handshakes end: no log line of theirs in (d)'s
net_log_mark "$d/recv.log.new"

# d. a certificate from the CA with a name not listed: told why, no worker
sed -e "s|laptop.test|intruder.test|g" "$d/send.conf" > "$d/intruder.conf"
( while :; do pgrep -P "$daemon"; sleep 0.01; done > "$d/d.pids" ) &
watcher=$!
fixture_track_pid "$watcher"
timeout 30 "$CTL" send -f "$d/intruder.conf" --job home --retries 0 --to backup \
	"$SRC/snaps/home.20260101T000000Z" > "$d/out" 2> "$d/err" &&
	fail "d: intruder.test was admitted"
sleep 2.5
kill "$watcher"
wait "$watcher" 2>/dev/null
[ ! -s "$d/d.pids" ] || fail "d: a process was started for the unlisted client: $(sort -u "$d/d.pids")"
! tail -c +$((NET_LOG_MARK + 1)) "$d/recv.log.new" |
	grep -E "receive worker [0-9]+ (started|exited|killed)" ||
	fail "d: a receive worker ran for the unlisted client"
grep -q "auth error: client certificate 'intruder.test' carries no name listed" "$d/err" ||
	fail "d: the unlisted client was told: $(cat "$d/err")"
net_log_says "connection refused: client certificate 'intruder.test' carries no name listed as a 'client' of the receive block \(client 127\.0\.0\.1:[0-9]+\)" "d: unlisted client"
[ ! -e "$DST/backup/intruder.test" ] || fail "d: the unlisted client got an area"

# e. max-transfers-per-client 1: a second connection waits its turn
"$TLSPEER" connect -c "$c/laptop.test.crt" -k "$c/laptop.test.key" -a "$c/ca.crt" \
	-H backup.test -p "$port" -W 4 > "$d/hold.out" 2>&1 &
holder=$!
fixture_track_pid "$holder"
for i in $(seq 50); do [ "$(workers)" = 1 ] && break; sleep 0.1; done
[ "$(workers)" = 1 ] || fail "e: the first connection got no worker"
net_log_mark "$d/recv.log.new"
n=$((n + 1))
snap=home.2026010${n}T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"
timeout 30 "$CTL" send -f "$d/send.conf" --job home --retries 0 --to backup \
	"$SRC/snaps/$snap" > "$d/out" 2> "$d/err" &&
	fail "e: a second transfer of laptop.test ran beside the first"
cat "$d/err" >&2
grep -q "resource error: client 'laptop.test' already has 1 transfer running, the most this receiver allows it (max-transfers-per-client); retry later" "$d/err" ||
	fail "e: the second connection was told: $(cat "$d/err")"
net_log_says "laptop\.test \(127\.0\.0\.1:[0-9]+\): refused: 1 transfer of this client running \(max-transfers-per-client 1\)" "e: per-client cap"
wait "$holder" || fail "e: the holding client: $(cat "$d/hold.out")"
for i in $(seq 50); do [ "$(workers)" = 0 ] && break; sleep 0.1; done
timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 0 --to backup \
	"$SRC/snaps/$snap" > "$d/out" 2> "$d/err" ||
	fail "e: once the first closed, the send failed: $(cat "$d/err")"
[ -d "$DST/backup/laptop.test/home/$snap" ] || fail "e: $snap not received"

kill -0 "$daemon" || fail "the receiver died"
echo "idle floods, trickled handshake, per-address cap, unlisted client, per-client cap: ok"
