# The scenario is valid and the oracle works: for each compression type,
# real `btrfs send --proto 2 --compressed-data` (full, then incremental after
# each mutation round) + `btrfs receive` reproduce every snapshot exactly
# per treecmp.  The dumps prove that the rounds exercise the commands an
# incremental receiver must get right, and that every compression type
# travels as encoded_write.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
TREECMP=$TOOLS/treecmp
[ -x "$TREECMP" ] || fail "$TREECMP missing (make integration)"
ROUNDS=3
WORK=$(scratch_dir)

# Value of the COMPRESSION attribute for each mount option (spec 6.6;
# lzo on 4 KiB sectors is LZO_4K).
declare -A CODE=([zlib]=1 [zstd]=2 [lzo]=3)

# need_cmds DUMP WHAT CMD...: every CMD appears as a command line in DUMP.
need_cmds() {
	local dump=$1 what=$2 c
	shift 2
	for c in "$@"; do
		grep -aq "^$c " "$dump" || fail "$what: no '$c' command in the stream ($dump)"
	done
}

# send_recv COMP NAME [-p PARENT]: send, dump, receive, compare.
send_recv() {
	local comp=$1 name=$2 stream dump out
	shift 2
	stream=$WORK/$comp.$name.stream
	dump=$WORK/$comp.$name.dump
	btrfs -q send --proto 2 --compressed-data "$@" -f "$stream" "$S/$name" ||
		fail "$comp: send $name"
	btrfs receive --dump -f "$stream" > "$dump" || fail "$comp: receive --dump $name"
	btrfs -q receive -f "$stream" "$R" || fail "$comp: receive $name"
	# Incremental receives move orphans through the root directory, and the
	# kernel sends no utimes for a root it did not see change.
	out=$("$TREECMP" ${1:+--ignore-root-times} "$S/$name" "$R/$name") ||
		fail "$comp: received $name differs from the sent snapshot:
$out"
	# (The scenario's compression properties add zstd and lzo extents.)
	grep -aqE "compression=${CODE[$comp]}([, ]|$)" "$dump" ||
		fail "$comp: no encoded_write with compression=${CODE[$comp]} in $name"
	DUMP=$dump
}

for comp in zstd lzo zlib; do
	btrfs_fs "S_$comp" 1G "compress=$comp"
	btrfs_fs "R_$comp" 1G
	v=S_$comp; S=${!v}
	v=R_$comp; R=${!v}
	btrfs -q subvolume create "$S/src" || fail "subvolume create"
	scenario_populate "$S/src"
	snap_ro "$S/src" "$S/s0"
	send_recv "$comp" s0
	need_cmds "$DUMP" "$comp full" subvol mkfile mkdir mknod mkfifo mksock \
		symlink link rename write encoded_write clone truncate set_xattr \
		chown chmod utimes
	for r in $(seq 1 $ROUNDS); do
		scenario_mutate "$S/src" "$r"
		snap_ro "$S/src" "$S/s$r"
		send_recv "$comp" "s$r" -p "$S/s$((r - 1))"
		need_cmds "$DUMP" "$comp round $r" snapshot rename link unlink rmdir \
			fallocate encoded_write clone truncate set_xattr remove_xattr \
			mkfile mkdir symlink mkfifo chown chmod write
	done
	note "$comp: full + $ROUNDS incremental sends reproduced exactly"
done
echo "scenario round trip through btrfs send/receive: ok"
