# Round trips through a backup (issue 17, docs/architecture.md "Parents
# and clone sources"): a parent whose copy on the sending host is itself
# received goes out with the copy's received uuid but its local ctransid,
# so the receiver cannot compare transids; it must trust a copy of its
# own only while that is read-only and unchanged since received (or, for
# the origin, since created), and the sender checks the same of its own.
#   (1) A -> B, B's s1 and s2 restored by hand to C, a chain on top of
#       s1 sent back to B incrementally from s1 with s2 as a clone
#       source: applies, equal to the source;
#   (2) B's s2 sent incrementally from s1 onto the original A: applies;
#   (3) a received parent made writable, changed and read-only again is
#       refused, by the receiver and by the sender;
#   (4) an origin changed after it was created is refused (transid);
#   (5) what the rule rests on holds after our own receive, also of a
#       subvolume whose root gets immutable/append-only after its rename:
#       ctransid <= rtransid.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
TREECMP=$TOOLS/treecmp
[ -x "$TREECMP" ] || fail "$TREECMP missing (make integration)"
WORK=$(scratch_dir)
btrfs_fs A 512M
btrfs_fs B 512M
btrfs_fs C 512M

# setro PATH 0|1: the read-only flag by the raw ioctl (as libbtrfsutil
# does), which keeps the received uuid; `btrfs property set -f` drops it.
setro() {
	perl -e 'open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!\n";
		ioctl($f, 0x4008941a, pack("Q", $ARGV[1] ? 2 : 0)) or
		die "BTRFS_IOC_SUBVOL_SETFLAGS $ARGV[0]: $!\n"' "$1" "$2" ||
		fail "set read-only=$2 on $1"
}

# transids PATH: "CTRANSID RTRANSID" (BTRFS_IOC_GET_SUBVOL_INFO; `btrfs
# subvolume show` does not print ctransid).
transids() {
	perl -e 'open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!\n";
		my $b = "\0" x 504;
		ioctl($f, 0x81f8943c, $b) or die "GET_SUBVOL_INFO: $!\n";
		my ($c, $o, $s, $r) = unpack("Q<4", substr($b, 344, 32));
		print "$c $r\n"' "$1" || fail "subvolume info of $1"
}

# unchanged PATH: ctransid <= rtransid, or fail.
unchanged() {
	local t
	t=$(transids "$1")
	[ "${t% *}" -le "${t#* }" ] ||
		fail "$1: ctransid above rtransid right after receive ($t)"
}

# xfer TAG DIR SNAPSHOT [send options]: btrsendctl send | receive; the
# receive's messages go to $WORK/TAG.log, the stream to $WORK/TAG.stream.
xfer() {
	local tag=$1 dir=$2 snap=$3
	shift 3
	"$CTL" send "$@" -o "$WORK/$tag.stream" "$snap" \
		> "$WORK/$tag.send.log" 2>&1 || return 2
	"$CTL" receive -q -f "$WORK/$tag.stream" "$dir" > "$WORK/$tag.log" 2>&1
}

# Raise A's transids well above C's, so that a transid that leaks from one
# filesystem to the other cannot match by chance.
for i in $(seq 1 12); do touch "$A/t$i"; sync; done
btrfs -q subvolume create "$A/src" || fail "subvolume create"
scenario_populate "$A/src" small
"$TOOLS/gen" "seed:big" 1048576 > "$A/src/big" || fail "gen big"
btrfs -q subvolume snapshot -r "$A/src" "$A/s1" || fail "snapshot s1"
scenario_mutate "$A/src" 1
btrfs -q subvolume snapshot -r "$A/src" "$A/s2" || fail "snapshot s2"

xfer s1 "$B" "$A/s1" || fail "A -> B s1: $(cat "$WORK"/s1*.log)"
xfer s2 "$B" "$A/s2" -p "$A/s1" || fail "A -> B s2: $(cat "$WORK"/s2*.log)"
check_received "$A/s1" "$B/s1"
check_received "$A/s2" "$B/s2"
sync
unchanged "$B/s1"
unchanged "$B/s2"

# (1) Restore B's s1 by hand to a fresh C, build on it, send back to B.
xfer r1 "$C" "$B/s1" || fail "restore s1 to C: $(cat "$WORK"/r1*.log)"
[ "$(subvol_field "$C/s1" "Received UUID")" = "$(subvol_uuid "$A/s1")" ] ||
	fail "C's s1 does not carry A's s1 as received uuid"
xfer r2c "$C" "$B/s2" -p "$B/s1" || fail "restore s2 to C: $(cat "$WORK"/r2c*.log)"
btrfs -q subvolume snapshot "$C/s1" "$C/w" || fail "snapshot w"
scenario_mutate "$C/w" 1
# data only the parent holds now: the stream clones it from there
cp --reflink=always "$C/s1/big" "$C/w/big.copy" || fail "reflink copy"
rm "$C/w/big"
# and data only the restored s2 holds: cloned from that clone source
cp --reflink=always "$C/s2/mut/gen.1/reflink-full" "$C/w/from-s2" ||
	fail "reflink copy from s2"
btrfs -q subvolume snapshot -r "$C/w" "$C/s3" || fail "snapshot s3"
xfer s3 "$B" "$C/s3" -p "$C/s1" -c "$C/s2" ||
	fail "(1) C -> B s3 from the restored s1: $(cat "$WORK"/s3*.log)"
btrfs receive --dump -f "$WORK/s3.stream" > "$WORK/s3.dump" ||
	fail "dump s3"
want=$(awk '$1 == "snapshot" { for (i = 1; i <= NF; i++)
	if ($i ~ /^parent_transid=/) { sub(/.*=/, "", $i); print $i } }' \
	"$WORK/s3.dump")
held=$(subvol_field "$B/s1" "Send transid")
[ -n "$want" ] && [ "$want" != "$held" ] ||
	fail "(1) the stream's parent transid ($want) equals B's s1 send transid ($held): the test shows nothing"
check_received "$C/s3" "$B/s3"
# big is gone from s3 by then: the clone source is the parent (the dump
# does not name the source subvolume)
grep -Eq '^clone +\./s3/big\.copy .* from=\./s3/big ' "$WORK/s3.dump" ||
	fail "(1) no clone from the parent in the stream: clone sources untested"
grep -Eq '^clone +\./s3/from-s2 ' "$WORK/s3.dump" ||
	fail "(1) no clone from s2 in the stream: clone sources untested"
note "(1) round trip applied: stream parent transid $want, B's s1 received from transid $held"

# (2) Incremental restore onto the original: A lost s2, B sends it from s1.
btrfs -q subvolume delete -c "$A/s2" > /dev/null || fail "delete A/s2"
xfer r2 "$A" "$B/s2" -p "$B/s1" ||
	fail "(2) B -> A s2 from the original s1: $(cat "$WORK"/r2*.log)"
"$TREECMP" --ignore-root-times "$B/s2" "$A/s2" ||
	fail "(2) restored s2 differs from B's"
note "(2) incremental restore onto the original applied"

# (4) The original changed after it was created: no longer what B's copy
# of it holds.  A restore from it is refused with the transid message.
btrfs -q subvolume delete -c "$A/s2" > /dev/null || fail "delete A/s2 again"
setro "$A/s1" 0
echo changed >> "$A/s1/big"
setro "$A/s1" 1
sync
if xfer r4 "$A" "$B/s2" -p "$B/s1"; then
	fail "(4) a stream applied on a changed origin parent"
fi
grep -q "found beneath DIR as s1 but with transid .*was changed after it was created" \
	"$WORK/r4.log" || fail "(4) no clear refusal: $(cat "$WORK/r4.log")"
[ ! -e "$A/s2" ] || fail "(4) s2 left on A"
note "(4) changed origin refused: $(tail -1 "$WORK/r4.log")"

# (3) A received parent made writable, changed and read-only again.
btrfs -q subvolume snapshot "$C/s1" "$C/w2" || fail "snapshot w2"
echo more > "$C/w2/more"
btrfs -q subvolume snapshot -r "$C/w2" "$C/s4" || fail "snapshot s4"
setro "$B/s1" 0
echo changed >> "$B/s1/big"
setro "$B/s1" 1
if xfer s4 "$B" "$C/s4" -p "$C/s1"; then
	fail "(3) B applied a stream on its changed received parent"
fi
grep -q "parent subvolume .* found beneath DIR as s1 but it was changed after it was received" \
	"$WORK/s4.log" || fail "(3) no clear refusal: $(cat "$WORK/s4.log")"
[ ! -e "$B/s4" ] || fail "(3) s4 left on B"
note "(3) receiver refused: $(tail -1 "$WORK/s4.log")"
# ... and the sender refuses its own changed received parent (committed
# or not: it commits before it looks).
setro "$C/s1" 0
echo changed >> "$C/s1/big"
setro "$C/s1" 1
rc=0
"$CTL" send -p "$C/s1" -o "$WORK/s4b.stream" "$C/s4" > "$WORK/s4b.log" 2>&1 ||
	rc=$?
[ "$rc" != 0 ] || fail "(3) the sender used its changed received parent"
grep -q "parent $C/s1 was changed after it was received" "$WORK/s4b.log" ||
	fail "(3) no clear refusal by the sender: $(cat "$WORK/s4b.log")"
note "(3) sender refused: $(tail -1 "$WORK/s4b.log")"
# (5) A root made immutable or append-only after the rename.
for r in i a; do
	"$TOOLS/mkfileattr" "$WORK/root-$r" root$r 4 8 $r || fail "mkfileattr"
	mkdir "$B/root-$r"
	"$CTL" receive -q -f "$WORK/root-$r" "$B/root-$r" ||
		fail "receive of a stream with an $r root"
	sync
	unchanged "$B/root-$r/root$r"
done
note "(5) ctransid <= rtransid after receive: $(transids "$B/s2"), $(transids "$B/root-i/rooti")"
echo "round trips with received parents: ok"
