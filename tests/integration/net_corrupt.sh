# Corruption TLS cannot see: BTRSEND_TEST_FLIP_AT (test-only) makes the
# sender flip one byte of a command after its own CRC check.  The
# receiver must refuse the command by its CRC with a clear error and
# apply nothing of it; without retries the send fails and no snapshot
# appears; with retries the sender reconnects, resumes from the last
# checkpoint and the received snapshot equals the source.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
btrfs_fs SRC 1G
btrfs_fs DST 1G
d=$(scratch_dir)
"$TOP/tests/lib/mkcerts.sh" "$d/certs" >/dev/null || fail "mkcerts"
mkdir -p "$DST/backup"
port=$((20000 + RANDOM % 20000))
cat > "$d/recv.conf" <<CONF
tls {
	certificate $d/certs/backup.test.crt
	key $d/certs/backup.test.key
	ca $d/certs/ca.crt
}
state-dir $d/state
receive {
	listen 127.0.0.1:$port
	root $DST/backup
	client laptop.test
}
CONF
cat > "$d/send.conf" <<CONF
tls {
	certificate $d/certs/laptop.test.crt
	key $d/certs/laptop.test.key
	ca $d/certs/ca.crt
}
target backup {
	address 127.0.0.1:$port
	name backup.test
}
CONF
daemon=
start_daemon() {
	local i
	: > "$d/recv.log.new"
	BTRSEND_CKPT_BYTES=$((2 << 20)) "$BTRSENDD" -d -v -f "$d/recv.conf" \
		2> "$d/recv.log.new" &
	daemon=$!
	fixture_track_pid "$daemon"
	for i in $(seq 100); do
		grep -q "receiving into" "$d/recv.log.new" && break
		sleep 0.05
	done
	grep -q "receiving into" "$d/recv.log.new" ||
		fail "receiver did not start: $(cat "$d/recv.log.new")"
	cat "$d/recv.log.new" >> "$d/recv.log"
}
start_daemon

btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
scenario_populate "$SRC/src" small
dd if=/dev/urandom of="$SRC/src/big" bs=1M count=16 status=none
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"
ncmds=$(btrfs send -q "$SRC/snaps/$snap" | btrfs receive --dump | wc -l)
at=$((ncmds * 3 / 4))
at2=$((ncmds * 7 / 8))	# past where the first run stopped
got=$DST/backup/laptop.test/home/$snap

BTRSEND_TEST_FLIP_AT=$at timeout 60 "$CTL" send -f "$d/send.conf" --job home \
	--retries 0 --to backup "$SRC/snaps/$snap" > "$d/out1" 2> "$d/err1" &&
	fail "send with a corrupted command succeeded: $(cat "$d/out1")"
grep -q "TEST: flipped" "$d/err1" || fail "the hook did not flip: $(cat "$d/err1")"
sleep 0.5
grep "command $at at byte offset [0-9]*: crc mismatch" "$d/recv.log.new" >&2 ||
	fail "receiver log names no CRC error at command $at: $(tail -5 "$d/recv.log.new")"
[ ! -e "$got" ] || fail "a snapshot appeared although a command was corrupt"

BTRSEND_TEST_FLIP_AT=$at2 timeout 60 "$CTL" send -f "$d/send.conf" \
	--job home --retries 2 --to backup "$SRC/snaps/$snap" > "$d/out2" 2> "$d/err2" ||
	fail "send with retries: $(cat "$d/err2") / receiver: $(tail -5 "$d/recv.log.new")"
grep -q "TEST: flipped" "$d/err2" || fail "the hook did not flip on the second run"
# one resume from the first run's checkpoint, one after the refusal
[ "$(grep -c "resuming at command" "$d/out2")" = 2 ] ||
	fail "expected two resumes: $(cat "$d/out2")"
# After a resume the receiver counts commands from the resume point
# (a known gap), so only the second refusal itself is checked here.
[ "$(grep -c ": crc mismatch" "$d/recv.log.new")" = 2 ] ||
	fail "second run: receiver did not refuse by CRC: $(cat "$d/err2")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" "$got" ||
	fail "received snapshot differs after a refused corrupt command"
echo "corrupt command at $at and $at2 of $ncmds refused by CRC, resumed: ok"
