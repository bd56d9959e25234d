# Network transfer over real TLS on loopback between two loopback btrfs:
# btrsendd receives (receive block), btrsendctl send --to sends.  A full
# send, then incrementals for which the sender asks the receiver what it
# holds and picks the parent itself; v1 and v2 with compressed data and
# zstd on the wire; a full v2 send of a snapshot with inode flags
# (chattr) keeps them.  Each received snapshot equals its source (treecmp),
# is read-only, has its received uuid set, and lands in
# root/<client>/<job>/<name>.  Root directory times are not compared:
# an incremental stream may not carry them, and `btrfs receive` leaves
# them differing the same way.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 1G 1G compress=zstd

net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_send_conf "$d/send.conf" "compress zstd"
net_check_conf "$d/recv.conf" receiver
net_check_conf "$d/send.conf" sender
net_start_receiver "$d/recv.conf" "$d/recv.log"

net_source

n=0
send_and_check() {	# send_and_check NAME [ARGS...]: snapshot, send, compare
	local name=$1; shift
	snap_ro "$SRC/src" "$SRC/snaps/$name"
	timeout 120 "$CTL" send -f "$d/send.conf" --job home --retries 2 "$@" --to backup \
		"$SRC/snaps/$name" > "$d/out" 2> "$d/err" ||
		fail "send $name: $(cat "$d/err") / receiver: $(tail -5 "$d/recv.log")"
	local got=$DST/backup/laptop.test/home/$name
	[ -d "$got" ] || fail "$name not at $got: $(cat "$d/out")"
	check_received "$SRC/snaps/$name" "$got"
	n=$((n + 1))
	note "$name: $(cat "$d/out")"
}

send_and_check home.20260101T000000Z
grep -q "incremental" "$d/out" && fail "first send was incremental"
scenario_mutate "$SRC/src" 1
send_and_check home.20260102T000000Z
grep -q "incremental from home.20260101T000000Z" "$d/out" ||
	fail "second send did not pick the first as parent: $(cat "$d/out")"
scenario_mutate "$SRC/src" 2
send_and_check home.20260103T000000Z --proto 2 --compressed-data
grep -q "incremental from home.20260102T000000Z" "$d/out" ||
	fail "third send did not pick the second as parent: $(cat "$d/out")"

# A full v2 send carries the inode flags the kernel sends only
# incrementally (docs/architecture.md "Inode flags in full sends").
btrfs -q subvolume create "$SRC/fl"
mkdir "$SRC/fl/d"
echo i > "$SRC/fl/d/i"
echo a > "$SRC/fl/a"
chattr +a "$SRC/fl/a" && chattr +dA "$SRC/fl/d" && chattr +i "$SRC/fl/d/i" ||
	fail "chattr"
snap_ro "$SRC/fl" "$SRC/snaps/fl.20260101T000000Z"
timeout 120 "$CTL" send -f "$d/send.conf" --proto 2 --to backup \
    "$SRC/snaps/fl.20260101T000000Z" > "$d/out" 2> "$d/err" ||
	fail "send fl: $(cat "$d/err") / receiver: $(tail -5 "$d/recv.log")"
got=$DST/backup/laptop.test/manual/fl.20260101T000000Z
check_received "$SRC/snaps/fl.20260101T000000Z" "$got"
for f in . a d d/i; do
	# "m" (no compression) is btrfs's own on a compress mount: left out
	[ "$(lsattr -d "$got/$f" | cut -d' ' -f1 | tr m -)" = \
	    "$(lsattr -d "$SRC/snaps/fl.20260101T000000Z/$f" | cut -d' ' -f1 | tr m -)" ] ||
		fail "$f: flags $(lsattr -d "$got/$f") after a full v2 send"
done
note "full v2 send: inode flags arrived"

# The receive worker logged each one.
[ "$(grep -c "received laptop.test/home/" "$d/recv.log")" = 3 ] ||
	fail "receiver log: $(cat "$d/recv.log")"
echo "network transfers: $n snapshots identical"
