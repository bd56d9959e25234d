# Corruption TLS cannot see: BTRSEND_TEST_FLIP_AT (test-only) makes the
# sender flip one byte of a command after its own CRC check.  The
# receiver must refuse the command by its CRC with a clear error and
# apply nothing of it; without retries the send fails and no snapshot
# appears; with retries the sender reconnects, resumes from the last
# checkpoint and the received snapshot equals the source.
# The receiver's ERROR reaches the sender, which prints its text (not
# "connection closed"), and every index and byte offset named, before
# and after a resume, is the absolute one in the stream: checked against
# offsets counted independently from `btrfs send` output.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 1G
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_send_conf "$d/send.conf"
BTRSEND_CKPT_BYTES=$((2 << 20)) net_start_receiver_new "$d/recv.conf" "$d/recv.log"

net_source
dd if=/dev/urandom of="$SRC/src/big" bs=1M count=16 status=none
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"
btrfs send -q -f "$d/stream" "$SRC/snaps/$snap"
"$TOP/tests/lib/stream_offsets.pl" "$d/stream" > "$d/offsets"
ncmds=$(wc -l < "$d/offsets")
at=$((ncmds * 3 / 4))
at2=$((ncmds * 7 / 8))	# past where the first run stopped
off_at=$(awk -v i=$at '$1 == i { print $2 }' "$d/offsets")
off_at2=$(awk -v i=$at2 '$1 == i { print $2 }' "$d/offsets")
[ -n "$off_at" ] && [ -n "$off_at2" ] || fail "no offsets for $at, $at2"
# the subvolume's uuid and ctransid as the stream announces them
read -r suuid sctransid < <(btrfs receive --dump -f "$d/stream" | sed -n \
	'1s/.* uuid=\([0-9a-f-]*\) transid=\([0-9]*\).*/\1 \2/p')
[ -n "$sctransid" ] || fail "no uuid/transid in the dump"
size=$(stat -c %s "$d/stream")
rm -f "$d/stream"
got=$DST/backup/laptop.test/home/$snap

BTRSEND_TEST_FLIP_AT=$at timeout 60 "$CTL" send -f "$d/send.conf" --job home \
	--retries 0 --to backup "$SRC/snaps/$snap" > "$d/out1" 2> "$d/err1" &&
	fail "send with a corrupted command succeeded: $(cat "$d/out1")"
grep -q "TEST: flipped" "$d/err1" || fail "the hook did not flip: $(cat "$d/err1")"
sleep 0.5
grep "command $at at byte offset $off_at: crc mismatch" "$d/recv.log.new" >&2 ||
	fail "receiver log names no CRC error at command $at, byte $off_at: $(tail -5 "$d/recv.log.new")"
grep -q "peer reports stream error: command $at at byte offset $off_at: crc mismatch" "$d/err1" ||
	fail "the sender did not relay the receiver's error: $(cat "$d/err1")"
[ ! -e "$got" ] || fail "a snapshot appeared although a command was corrupt"

BTRSEND_TEST_FLIP_AT=$at2 timeout 60 "$CTL" send -f "$d/send.conf" \
	--job home --retries 2 --to backup "$SRC/snaps/$snap" > "$d/out2" 2> "$d/err2" ||
	fail "send with retries: $(cat "$d/err2") / receiver: $(tail -5 "$d/recv.log.new")"
grep -q "TEST: flipped" "$d/err2" || fail "the hook did not flip on the second run"
# one resume from the first run's checkpoint, one after the refusal
[ "$(grep -c "resuming at command" "$d/out2")" = 2 ] ||
	fail "expected two resumes: $(cat "$d/out2")"
grep -q "resuming at command $at, byte $off_at\$" "$d/out2" ||
	fail "first resume not at command $at, byte $off_at: $(cat "$d/out2")"
# LIST-REPLY described the partial: identity and checkpoint
grep -q "holds a partial of $snap (uuid $suuid, ctransid $sctransid, full, .*) at command $at, byte $off_at\$" "$d/out2" ||
	fail "LIST-REPLY partial not as expected ($suuid $sctransid $at $off_at): $(cat "$d/out2")"
# After the resume at $at, the refusal and the second resume are
# still absolute positions in the stream.
[ "$(grep -c ": crc mismatch" "$d/recv.log.new")" = 2 ] ||
	fail "second run: receiver did not refuse by CRC: $(cat "$d/err2")"
grep "command $at2 at byte offset $off_at2: crc mismatch" "$d/recv.log.new" >&2 ||
	fail "after a resume the receiver names a relative position: $(grep "crc mismatch" "$d/recv.log.new")"
grep -q "peer reports stream error: command $at2 at byte offset $off_at2: crc" "$d/err2" ||
	fail "the sender did not relay the second error: $(cat "$d/err2")"
grep -q "resuming at command $at2, byte $off_at2\$" "$d/out2" ||
	fail "second resume not at command $at2, byte $off_at2: $(cat "$d/out2")"
# DONE after two resumes: the totals of the whole stream
grep -q "laptop.test: received laptop.test/home/$snap ($ncmds commands, $size bytes)" "$d/recv.log.new" ||
	fail "the receiver's totals are not the stream's ($ncmds, $size): $(grep received "$d/recv.log.new")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" "$got" ||
	fail "received snapshot differs after a refused corrupt command"
echo "corrupt command at $at (byte $off_at) and $at2 (byte $off_at2) of $ncmds refused by CRC, relayed, resumed: ok"
