# A snapshot the receiver already holds is not sent again (issue 16,
# finding 8): `btrsendctl send --to` names it, so the sender asks without
# knowing; the receiver answers BEGIN with complete, which the sender
# takes as delivered (exit 0, "the receiver already holds it") after a
# few KiB through a counting proxy instead of the 16 MiB stream.  A
# different snapshot under the same name on the receiver is refused at
# BEGIN, naming it, before any data.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_start_receiver "$d/recv.conf" "$d/recv.log"

net_source
dd if=/dev/urandom of="$SRC/src/data" bs=1M count=16 status=none
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"
jobdir=$DST/backup/laptop.test/home

net_start_proxy "$d/proxy"
net_send_conf -p "$NET_PROXY_PORT" "$d/send.conf"
send() {	# send OUT SNAPSHOT: the snapshot, once, through the proxy
	timeout 120 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
		--to backup "$2" > "$d/$1.out" 2> "$d/$1.err"
}
c2s() { sed -n 's/^c2s \([0-9]*\).*/\1/p' "$d/proxy.count" | tail -1; }

send first "$SRC/snaps/$snap" || fail "first send: $(cat "$d/first.err")"
check_received "$SRC/snaps/$snap" "$jobdir/$snap"
b1=$(c2s)
[ "$b1" -gt $((16 << 20)) ] || fail "the first send passed only $b1 bytes"

net_log_mark "$d/recv.log"
send again "$SRC/snaps/$snap" ||
	fail "sending a held snapshot again failed: $(cat "$d/again.err")"
b2=$(($(c2s) - b1))
note "first send: $b1 client bytes; again: $b2"
cat "$d/again.out" "$d/again.err" >&2
bad=()
grep -q "$snap: the receiver already holds it" "$d/again.out" "$d/again.err" ||
	bad+=("the sender did not say the receiver holds it")
[ "$b2" -lt 65536 ] || bad+=("$b2 bytes sent for a snapshot the receiver holds")
net_log_says "laptop.test: home/$snap is already held complete; nothing to receive" \
	"the receiver did not answer complete"
grep -q "receiving home/$snap" <(tail -c +$((NET_LOG_MARK + 1)) "$d/recv.log") &&
	bad+=("the receiver received it again")
check_received "$SRC/snaps/$snap" "$jobdir/$snap"

# Another snapshot under that name: refused at BEGIN, nothing applied.
btrfs -q subvolume delete "$jobdir/$snap" || fail "delete $jobdir/$snap"
btrfs -q subvolume create "$DST/other" || fail "subvolume create $DST/other"
echo other > "$DST/other/f"
snap_ro "$DST/other" "$jobdir/$snap"
b3=$(c2s)
send other "$SRC/snaps/$snap" && bad+=("a send over another snapshot of that name succeeded")
b4=$(($(c2s) - b3))
grep -q "begin home/$snap: $DST/backup/laptop.test/home/$snap already exists and is another snapshot (it was made on this host, not received); rename or delete it on the backup host" "$d/other.err" ||
	bad+=("the refusal does not say what is in the way: $(cat "$d/other.err")")
[ "$b4" -lt 65536 ] || bad+=("$b4 bytes sent before the refusal")
[ ${#bad[@]} -eq 0 ] || fail "$(printf '%s; ' "${bad[@]}")"
echo "held snapshot: answered complete, $b2 bytes instead of $b1; another of that name refused: ok"
