# btrsendctl receive reproduces the source snapshots exactly: full and
# incremental streams, v1, v2 and v2 --compressed-data (zstd, lzo, zlib),
# also with the decompression fallback forced.  Each result equals the
# source snapshot (treecmp) and what `btrfs receive` makes of the same
# streams, and carries the same received uuid, read-only.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
btrfs_fs S 2G
btrfs_fs D 2G
out=$(scratch_dir)

# make_source NAME COMPRESSION: NAME.1 full, NAME.2 after one mutation round
make_source() {
	local v=$S/$1
	btrfs -q subvolume create "$v" >/dev/null || fail "subvolume create $v"
	[ "$2" = none ] || btrfs property set "$v" compression "$2" ||
		fail "compression $2 on $v"
	scenario_populate "$v" small
	snap_ro "$v" "$S/$1.1"
	scenario_mutate "$v" 1
	scenario_mutate "$v" 2
	snap_ro "$v" "$S/$1.2"
}

# streams NAME VARIANT SEND-OPTS...: $out/VARIANT.full and .inc
streams() {
	local n=$1 var=$2
	shift 2
	btrfs -q send "$@" -f "$out/$var.full" "$S/$n.1" || fail "send $var full"
	btrfs -q send "$@" -p "$S/$n.1" -f "$out/$var.inc" "$S/$n.2" ||
		fail "send $var incremental"
}

received_uuid() { btrfs subvolume show "$1" | awk '/Received UUID/ { print $3 }'; }

# check VARIANT NAME [RECEIVE-OPTS]: ours and progs agree with the source
check() {
	local var=$1 n=$2 opt=${3:-} ours=$D/$1.ours progs=$D/$1.progs s
	mkdir "$ours" "$progs"
	for s in full inc; do
		$CTL receive -q $opt -f "$out/$var.$s" "$ours" ||
			fail "$var: btrsendctl receive of the $s stream"
		btrfs receive -q $opt -f "$out/$var.$s" "$progs" ||
			fail "$var: btrfs receive of the $s stream"
	done
	for s in 1 2; do
		"$TOOLS/treecmp" --ignore-root-times "$S/$n.$s" "$ours/$n.$s" ||
			fail "$var: received $n.$s differs from the source"
		"$TOOLS/treecmp" --holes --ignore-root-times "$progs/$n.$s" \
		    "$ours/$n.$s" || fail "$var: $n.$s differs from btrfs receive"
		[ "$(received_uuid "$ours/$n.$s")" = "$(received_uuid "$progs/$n.$s")" ] ||
			fail "$var: received uuid of $n.$s differs from btrfs receive"
		[ "$(btrfs property get -ts "$ours/$n.$s" ro)" = "ro=true" ] ||
			fail "$var: $n.$s is not read-only"
	done
	ls -A "$ours" | grep -q btrsend && fail "$var: staging or state left in $ours"
	note "$var: ok"
}

make_source plain none
make_source zstd zstd
make_source lzo lzo
make_source zlib zlib

streams plain v1
streams plain v2 --proto 2
streams zstd zstd --compressed-data
streams lzo lzo --compressed-data
streams zlib zlib --compressed-data
btrfs receive --dump -f "$out/zstd.full" | grep -q '^encoded_write' ||
	fail "the zstd stream has no encoded_write: the test would prove nothing"

check v1 plain
check v2 plain
check zstd zstd
check lzo lzo
check zlib zlib
cp "$out/zstd.full" "$out/zstd-forced.full"
cp "$out/zstd.inc" "$out/zstd-forced.inc"
check zstd-forced zstd --force-decompress
for c in lzo zlib; do
	cp "$out/$c.full" "$out/$c-forced.full"
	cp "$out/$c.inc" "$out/$c-forced.inc"
	check $c-forced $c --force-decompress
done
# Inode flags (FILEATTR, incremental v2 only): applied, unlike btrfs
# receive, and immutable / append-only set last so later commands work.
a=$S/attrs
btrfs -q subvolume create "$a" >/dev/null || fail "subvolume create $a"
mkdir "$a/dir" "$a/syncdir"
for f in immutable append nodump noatime nocow sync; do echo "$f" > "$a/$f"; done
: > "$a/nocow"
snap_ro "$a" "$a.1"
echo "changed before immutable" >> "$a/immutable"
chattr +i "$a/immutable"
chattr +a "$a/append"
chattr +d "$a/nodump"
chattr +A "$a/noatime" "$a/dir"
chattr +C "$a/nocow"
chattr +S "$a/sync"
chattr +D "$a/syncdir"
snap_ro "$a" "$a.2"
btrfs -q send --proto 2 -f "$out/attrs.full" "$a.1" || fail "send attrs"
btrfs -q send --proto 2 -p "$a.1" -f "$out/attrs.inc" "$a.2" || fail "send attrs inc"
btrfs receive --dump -f "$out/attrs.inc" | grep -q '^fileattr' ||
	fail "the attrs stream has no fileattr: the test would prove nothing"
mkdir "$D/attrs"
$CTL receive -q -f "$out/attrs.full" "$D/attrs" || fail "attrs: receive full"
$CTL receive -q -f "$out/attrs.inc" "$D/attrs" || fail "attrs: receive inc"
"$TOOLS/treecmp" --ignore-root-times "$a.2" "$D/attrs/attrs.2" ||
	fail "attrs: received tree differs from the source"
(cd "$a.2" && lsattr -d -- * ) > "$out/attrs.want" || fail "lsattr source"
(cd "$D/attrs/attrs.2" && lsattr -d -- * ) > "$out/attrs.got" || fail "lsattr received"
diff "$out/attrs.want" "$out/attrs.got" >&2 || fail "attrs: inode flags differ"
grep -q -- '-i-.* immutable$' "$out/attrs.got" || fail "attrs: immutable flag lost"

# Concatenated streams in one input, and `send -e` (one header, one END)
# every subvolume is received; a second run finds them all done.
btrfs -q send -f "$out/concat" "$S/plain.1" "$S/zstd.1" || fail "send concat"
btrfs -q send -e -f "$out/multi" "$S/lzo.1" "$S/zlib.1" || fail "send -e"
mkdir "$D/concat"
$CTL receive -f "$out/concat" "$D/concat" > "$out/concat.log" || fail "concat receive"
# (from a pipe: the read path, not the mapped-file path)
cat "$out/multi" | $CTL receive "$D/concat" >> "$out/concat.log" ||
	fail "send -e receive from stdin"
[ "$(grep -c commands "$out/concat.log")" = 4 ] || fail "want 4 summary lines"
for n in plain zstd lzo zlib; do
	"$TOOLS/treecmp" --ignore-root-times "$S/$n.1" "$D/concat/$n.1" ||
		fail "concat: $n.1 differs from the source"
done
$CTL receive -f "$out/concat" "$D/concat" > "$out/again.log" || fail "second run"
[ "$(grep -c "already received" "$out/again.log")" = 2 ] ||
	fail "a second run must find both subvolumes already received"
echo "receive fidelity: ok"
