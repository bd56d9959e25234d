# Log injection (issue 16, finding 5): an authenticated client sends an
# ERROR whose text holds a newline, a forged "btrsendd: ..." line and a
# terminal escape, and a LIST of a job name holding a newline.  The
# receiver's log (btrsendd -d, stderr) must hold no line the client
# forged and no control byte: the text is escaped (\xHH), the name is
# refused as no valid name.  The receiver keeps serving: a transfer
# afterwards completes identical.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 256M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_send_conf "$d/send.conf"
net_start_receiver_new "$d/recv.conf" "$d/recv.log"
log=$d/recv.log.new

peer() { NET_PEER_SECS=30 net_peer "$@"; }

peer -E $'oops\nbtrsendd: forged line: laptop2.test: received home/x\033[2J' \
	> "$d/err.out" || fail "tlspeer -E: $(cat "$d/err.out")"
grep -q "^sent error" "$d/err.out" || fail "tlspeer -E: $(cat "$d/err.out")"
peer -L $'home\nbtrsendd: forged name' > "$d/list.out"
cat "$d/list.out" >&2

# both connections are logged once their workers end
for i in $(seq 50); do
	grep -q "peer reports internal error" "$log" &&
		grep -q "laptop.test: list \|not a valid name" "$log" && break
	sleep 0.1
done
cat -v "$log" >&2
# all checks first, so that a failing run shows every difference
bad=()
grep -q "refused: peer reports protocol error: .*not a valid name" "$d/list.out" ||
	bad+=("a job name with a newline was not refused: $(cat "$d/list.out")")
grep -q "^btrsendd: forged" "$log" &&
	bad+=("a client forged log lines: $(grep "^btrsendd: forged" "$log")")
grep -q $'\033' "$log" && bad+=("a client's escape byte reached the log")
grep -qF 'laptop.test: peer reports internal error: oops\x0abtrsendd: forged line: laptop2.test: received home/x\x1b[2J' "$log" ||
	bad+=("the ERROR text was not logged escaped")
grep -q "not a valid name" "$log" || bad+=("the refused LIST was not logged")
[ ${#bad[@]} -eq 0 ] || fail "$(printf '%s; ' "${bad[@]}")"

# still serving
net_source
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"
timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
	--to backup "$SRC/snaps/$snap" > "$d/out" 2> "$d/err" ||
	fail "send after the forgeries: $(cat "$d/err") / $(tail -5 "$log")"
check_received "$SRC/snaps/$snap" "$DST/backup/laptop.test/home/$snap"
echo "forged ERROR text and name: escaped or refused, receiver serving: ok"
