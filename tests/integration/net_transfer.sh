# Network transfer over real TLS on loopback between two loopback btrfs:
# btrsendd receives (receive block), btrsendctl send --to sends.  A full
# send, then incrementals for which the sender asks the receiver what it
# holds and picks the parent itself; v1 and v2 with compressed data and
# zstd on the wire.  Each received snapshot equals its source (treecmp),
# is read-only, has its received uuid set, and lands in
# root/<client>/<job>/<name>.  Root directory times are not compared:
# an incremental stream may not carry them, and `btrfs receive` leaves
# them differing the same way.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
btrfs_fs SRC 1G compress=zstd
btrfs_fs DST 1G
d=$(scratch_dir)
"$TOP/tests/lib/mkcerts.sh" "$d/certs" || fail "mkcerts"
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
	compress zstd
}
CONF
"$BTRSENDD" -n -f "$d/recv.conf" 2>/dev/null || fail "receiver config: $("$BTRSENDD" -n -f "$d/recv.conf" 2>&1)"
"$BTRSENDD" -n -f "$d/send.conf" 2>/dev/null || fail "sender config: $("$BTRSENDD" -n -f "$d/send.conf" 2>&1)"
"$BTRSENDD" -d -v -f "$d/recv.conf" 2> "$d/recv.log" &
fixture_track_pid $!
for i in $(seq 50); do grep -q "receiving into" "$d/recv.log" && break; sleep 0.1; done
grep -q "receiving into" "$d/recv.log" || fail "receiver did not start: $(cat "$d/recv.log")"

btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
scenario_populate "$SRC/src" small

n=0
send_and_check() {	# send_and_check NAME [ARGS...]: snapshot, send, compare
	local name=$1; shift
	snap_ro "$SRC/src" "$SRC/snaps/$name"
	timeout 120 "$CTL" send -f "$d/send.conf" --job home --retries 2 "$@" --to backup \
		"$SRC/snaps/$name" > "$d/out" 2> "$d/err" ||
		fail "send $name: $(cat "$d/err") / receiver: $(tail -5 "$d/recv.log")"
	local got=$DST/backup/laptop.test/home/$name
	[ -d "$got" ] || fail "$name not at $got: $(cat "$d/out")"
	"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$name" "$got" || fail "$name differs from its source"
	[ "$(btrfs property get -ts "$got" ro)" = "ro=true" ] || fail "$name not read-only"
	local ruuid suuid
	ruuid=$(btrfs subvolume show "$got" | awk '/Received UUID:/ { print $3 }')
	suuid=$(btrfs subvolume show "$SRC/snaps/$name" | awk '/^[[:space:]]*UUID:/ { print $2 }')
	[ "$ruuid" = "$suuid" ] || fail "$name: received uuid '$ruuid', source uuid '$suuid'"
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

# The receive worker logged each one.
[ "$(grep -c "received laptop.test/home/" "$d/recv.log")" = 3 ] ||
	fail "receiver log: $(cat "$d/recv.log")"
echo "network transfers: $n snapshots identical"
