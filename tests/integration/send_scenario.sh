# btrsendctl send -o is byte-identical to btrfs send -f on the harness's
# rich scenario tree (every file type, xattrs, ACLs, caps, holes,
# reflinks, odd names, deep and wide directories) through three rounds of
# mutation: full, -p, -c, several snapshots in one stream, and protocol 2
# with compressed data on a compress=zstd mount.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
btrfs_fs A 2G compress=zstd
out=$(scratch_dir)

btrfs -q subvolume create "$A/src"
scenario_populate "$A/src" medium
snap_ro "$A/src" "$A/r0"
for r in 1 2 3; do
	scenario_mutate "$A/src" $r
	snap_ro "$A/src" "$A/r$r"
done

n=0
same() {
	local k
	n=$((n + 1))
	"$CTL" send "$@" -o "$out/ours" 2> "$out/err" ||
		fail "btrsendctl send $*: $(cat "$out/err")"
	btrfs -q send "$@" -f "$out/progs" || fail "btrfs send $* failed"
	if ! cmp -s "$out/ours" "$out/progs"; then
		# Only a full v2 stream of a snapshot with inode flags may
		# differ, by the FILEATTRs btrsend adds before END.
		k=$(python3 "$TOP/tests/lib/strip_fileattr.py" "$out/ours" "$out/stripped") ||
			fail "cannot parse $out/ours"
		[ "$k" -gt 0 ] && cmp "$out/stripped" "$out/progs" ||
			fail "btrsendctl send $* differs from btrfs send"
		note "identical but for $k inode flag commands: send $*"
		return 0
	fi
	note "identical ($(stat -c %s "$out/ours") bytes): send $*"
}

same "$A/r0"
same -p "$A/r0" "$A/r1"
same -p "$A/r1" -c "$A/r0" "$A/r2"
same -c "$A/r0" -c "$A/r1" "$A/r3"
same -c "$A/r0" "$A/r1" "$A/r2" "$A/r3"
same "$A/r0" "$A/r3"
same --proto 2 --compressed-data "$A/r0"
same --proto 2 --compressed-data -p "$A/r2" "$A/r3"
same --proto 2 --compressed-data -c "$A/r0" "$A/r1" "$A/r2"
echo "send identical on the scenario tree: $n cases"
