# A partial that cannot be resumed is discarded, loudly on both sides,
# and the transfer starts over and completes identically (issue 6).
#  A. Other stream parameters: the partial was sent with
#     --compressed-data (flags 0x1); the next send has no such flag.  The
#     receiver sees it in BEGIN, discards and answers "fresh".
#  B. Digest mismatch: the receiver's checkpoint is tampered with on disk
#     (a valid file whose digest is wrong).  The receiver offers to resume;
#     the sender, fast-forwarding the regenerated stream, finds that the
#     digests differ, says so, reconnects with BEGIN flag RESTART, and the
#     receiver discards the partial and starts fresh.
# Along the way LIST-REPLY must describe each partial (parameters and
# checkpoint) and each held snapshot (received uuid and ctransid).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 1G 1G compress=zstd
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
BTRSEND_CKPT_BYTES=$((2 << 20)) net_start_receiver "$d/recv.conf" "$d/recv.log"
# each of the first two connections is cut after 6 MB from the sender
net_start_proxy "$d/proxy" -c 6000000,6000000 -T 200
for t in direct:$NET_PORT proxy:$NET_PROXY_PORT; do
	cat >> "$d/send.conf" <<CONF
target ${t%%:*} {
	address 127.0.0.1:${t#*:}
	name backup.test
}
CONF
done
cat >> "$d/send.conf" <<CONF
tls {
	certificate $d/certs/laptop.test.crt
	key $d/certs/laptop.test.key
	ca $d/certs/ca.crt
}
CONF
area=$DST/backup/laptop.test/home
send() {	# send TARGET OUT SNAPSHOT [OPTIONS...]
	local to=$1 out=$2 snap=$3
	shift 3
	timeout 90 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
		--to "$to" "$@" "$SRC/snaps/$snap" > "$d/$out" 2> "$d/$out.err"
}

net_source
# compressible, so that --compressed-data changes the stream's bytes
yes "btrsend restart test line" | head -c $((16 << 20)) > "$SRC/src/compressible.txt"
dd if=/dev/urandom of="$SRC/src/big" bs=1M count=8 status=none
sync
s1=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$s1"

# --- A: a partial of other parameters ---
send proxy a1 "$s1" --proto 2 --compressed-data &&
	fail "the cut send succeeded: $(cat "$d/a1")"
[ -e "$area/.btrsend-partial.$s1.state" ] || fail "no partial after the cut"
send direct a2 "$s1" --proto 2 ||
	fail "send A: $(cat "$d/a2.err") / receiver: $(tail -5 "$d/recv.log")"
cat "$d/a2" "$d/a2.err" >&2
grep -q "holds a partial of $s1 (uuid [0-9a-f-]*, ctransid [0-9]*, full, stream v2, flags 0x1, 0 clone sources) at command [1-9]" "$d/a2" ||
	fail "LIST-REPLY did not describe the compressed-data partial: $(cat "$d/a2")"
grep -q "laptop.test: DISCARDING partial of $s1 at command [0-9]*, byte [0-9]*: its stream had other send flags; starting over" "$d/recv.log" ||
	fail "receiver: no loud discard: $(tail -5 "$d/recv.log")"
grep -q "RECEIVER: DISCARDING partial of $s1 .*other send flags" "$d/a2.err" ||
	fail "sender: no loud discard: $(cat "$d/a2.err")"
! grep -q "resuming" "$d/a2" || fail "resumed a partial of other parameters"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$s1" "$area/$s1" ||
	fail "A: received snapshot differs"
[ ! -e "$area/.btrsend-partial.$s1.state" ] || fail "A: the partial's state stayed"

# --- B: a partial whose checkpoint digest is wrong ---
scenario_mutate "$SRC/src" 1
dd if=/dev/urandom of="$SRC/src/big2" bs=1M count=16 status=none
s2=home.20260102T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$s2"
send proxy b1 "$s2" && fail "the second cut send succeeded: $(cat "$d/b1")"
sleep 0.5	# the cut worker writes its exact checkpoint, then exits
read -r ck_n ck_off < <("$TOOLS/ckpt_tool" tamper "$area" \
	".btrsend-partial.$s2.state") || fail "cannot tamper with the checkpoint"
note "tampered with the checkpoint of $s2 at command $ck_n, byte $ck_off"
send direct b2 "$s2" ||
	fail "send B: $(cat "$d/b2.err") / receiver: $(tail -5 "$d/recv.log")"
cat "$d/b2" "$d/b2.err" >&2
# the held snapshot, as LIST-REPLY tells it: s1's uuid and ctransid
want_uuid=$(btrfs subvolume show "$SRC/snaps/$s1" | awk '$1 == "UUID:" { print $2 }')
want_ct=$(btrfs subvolume show "$area/$s1" | awk '/Send transid:/ { print $3 }')
grep -q "holds 1 snapshot of job home, the last $s1 (received uuid $want_uuid, ctransid $want_ct)" "$d/b2" ||
	fail "LIST-REPLY did not give $s1 as $want_uuid/$want_ct: $(cat "$d/b2")"
grep -q "holds a partial of $s2 (.*incremental.*) at command $ck_n, byte $ck_off\$" "$d/b2" ||
	fail "LIST-REPLY did not describe the partial at $ck_n/$ck_off: $(cat "$d/b2")"
grep -q "CANNOT RESUME .*$s2 at command $ck_n (byte $ck_off): .*digest.*DISCARD" "$d/b2.err" ||
	fail "sender: no loud digest mismatch: $(cat "$d/b2.err")"
grep -q "laptop.test: DISCARDING partial of $s2 at command $ck_n, byte $ck_off: the sender asks for a fresh start" "$d/recv.log" ||
	fail "receiver: no loud discard on restart: $(tail -8 "$d/recv.log")"
grep -q "RECEIVER: DISCARDING partial of $s2" "$d/b2.err" ||
	fail "sender: did not log the receiver's discard: $(cat "$d/b2.err")"
grep -q "$s2: sent to direct" "$d/b2" || fail "B did not complete: $(cat "$d/b2")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$s2" "$area/$s2" ||
	fail "B: received snapshot differs"
echo "partial of other flags and partial with a wrong digest: discarded, restarted, identical: ok"
