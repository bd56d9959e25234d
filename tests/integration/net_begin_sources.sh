# A parent is looked up at BEGIN (docs/protocol.md §5), real daemon and
# real sender: an incremental whose parent lies only in another client's
# area is refused at BEGIN with ERROR denied, one whose parent the
# receiver does not hold at all with ERROR not-found; neither leaves a
# partial, and the worker never starts receiving (before: admitted at
# BEGIN, refused at the first command with ERROR apply).  The same
# incremental relative to the client's own copy is received.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup" "client desktop.test"
for who in laptop desktop; do
	net_send_conf -c "$who" "$d/$who.conf"
done
net_start_receiver "$d/recv.conf" "$d/recv.log"

net_source
s1=home.20260101T000000Z s2=home.20260102T000000Z s3=home.20260103T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$s1"
scenario_mutate "$SRC/src" 1
snap_ro "$SRC/src" "$SRC/snaps/$s2"
scenario_mutate "$SRC/src" 2
snap_ro "$SRC/src" "$SRC/snaps/$s3"
u1=$(btrfs subvolume show "$SRC/snaps/$s1" | awk '/^[[:space:]]*UUID:/ { print $2 }')
u2=$(btrfs subvolume show "$SRC/snaps/$s2" | awk '/^[[:space:]]*UUID:/ { print $2 }')
[ -n "$u1" ] && [ -n "$u2" ] || fail "no uuids of the source snapshots"

# send WHO SNAP [ARGS]: btrsendctl send as WHO.test; status in RC
send() {
	local who=$1 snap=$2
	shift 2
	RC=0
	timeout 60 "$CTL" send -f "$d/$who.conf" --job home --retries 0 "$@" \
		--to backup "$SRC/snaps/$snap" > "$d/out" 2>&1 || RC=$?
}

send desktop "$s1"
[ "$RC" = 0 ] || fail "desktop's full send: $(cat "$d/out")"

# laptop's incremental relative to desktop's copy of s1: denied at BEGIN.
send laptop "$s2" -p "$SRC/snaps/$s1"
[ "$RC" != 0 ] || fail "laptop sent relative to desktop's snapshot: $(cat "$d/out")"
grep -q "denied error: begin home/$s2: the parent $u1 lies in another client's area" "$d/out" ||
	fail "another client's parent: laptop was told: $(cat "$d/out")"
note "laptop: $(grep -m1 'denied error' "$d/out")"
grep -q "laptop.test: begin home/$s2: the parent $u1 lies in another client's area" "$d/recv.log" ||
	fail "receiver log: $(tail -5 "$d/recv.log")"

# laptop's incremental relative to a snapshot nobody holds: not-found.
send laptop "$s3" -p "$SRC/snaps/$s2"
[ "$RC" != 0 ] || fail "laptop sent relative to a snapshot not held: $(cat "$d/out")"
grep -q "not-found error: begin home/$s3: the parent $u2 is not held in this client's home/" "$d/out" ||
	fail "parent not held: laptop was told: $(cat "$d/out")"

# Refused at BEGIN: no transfer started, nothing in laptop's area.
grep -q "laptop.test: receiving home/" "$d/recv.log" &&
	fail "a refused transfer started: $(grep 'laptop.test: receiving' "$d/recv.log")"
[ -z "$(ls -A "$DST/backup/laptop.test/home" 2>/dev/null)" ] ||
	fail "laptop's area holds: $(ls -A "$DST/backup/laptop.test/home")"

# With its own copy of s1, laptop's incremental goes through.
send laptop "$s1"
[ "$RC" = 0 ] || fail "laptop's full send: $(cat "$d/out")"
send laptop "$s2" -p "$SRC/snaps/$s1"
[ "$RC" = 0 ] || fail "laptop's incremental on its own parent: $(cat "$d/out")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$s2" \
	"$DST/backup/laptop.test/home/$s2" ||
	fail "laptop's incremental differs"
echo "parent checked at BEGIN: another client's denied, unknown not-found: ok"
