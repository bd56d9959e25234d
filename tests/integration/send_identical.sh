# `btrsendctl send -o` writes exactly the bytes `btrfs send -f` writes for
# the same arguments: full, -p, -c (parent found among clone sources),
# several snapshots in one command, --no-data, --proto auto, and
# --proto 2 --compressed-data on a compress=zstd mount (full v2 streams
# of snapshots with inode flags differ only by btrsend's FILEATTR).
. "$(dirname "$0")/../lib/common.sh"
fixture_init
btrfs_fs A 1G
btrfs_fs Z 1G compress=zstd
out=$(scratch_dir)

# A tree with the things send has to express: dirs, hard links, symlinks,
# xattrs, special files, holes, reflinks, files over one WRITE's size.
populate() {
	local d=$1
	mkdir -p "$d/dir/sub" "$d/empty"
	echo hello > "$d/dir/small"
	head -c 300000 /dev/urandom > "$d/dir/sub/big"
	base64 < "$d/dir/sub/big" | head -c 400000 > "$d/text"
	ln "$d/dir/small" "$d/hardlink"
	ln -s dir/small "$d/symlink"
	mkfifo "$d/fifo"
	mknod "$d/chardev" c 1 3
	setfattr -n user.color -v blue "$d/dir/small"
	truncate -s 1M "$d/sparse"
	printf 'tail' | dd of="$d/sparse" bs=1 seek=700000 conv=notrunc status=none
	cp --reflink=always "$d/dir/sub/big" "$d/reflink"
	chmod 0600 "$d/dir/small"
	chown 1234:5678 "$d/text"
}

change() {
	local d=$1
	echo changed >> "$d/dir/small"
	mv "$d/dir/sub" "$d/moved"
	rm "$d/hardlink" "$d/fifo"
	setfattr -x user.color "$d/dir/small"
	head -c 200000 /dev/urandom >> "$d/moved/big"
	cp --reflink=always "$d/text" "$d/empty/text-clone"
	mkdir "$d/newdir"
	ln -s ../text "$d/newdir/link"
	truncate -s 100 "$d/sparse"
}

snapshots() {   # snapshots FS: src with s1, s2, s3 read-only
	local fs=$1
	btrfs -q subvolume create "$fs/src"
	populate "$fs/src"
	btrfs -q subvolume snapshot -r "$fs/src" "$fs/s1"
	change "$fs/src"
	btrfs -q subvolume snapshot -r "$fs/src" "$fs/s2"
	head -c 100000 /dev/urandom > "$fs/src/third"
	btrfs -q subvolume snapshot -r "$fs/src" "$fs/s3"
}

n=0
same() {        # same ARGS...: both tools, same arguments, same bytes
	local k
	n=$((n + 1))
	"$CTL" send "$@" -o "$out/ours.$n" 2> "$out/err.$n" ||
		fail "btrsendctl send $*: $(cat "$out/err.$n")"
	btrfs -q send "$@" -f "$out/progs.$n" || fail "btrfs send $* failed"
	[ -s "$out/progs.$n" ] || fail "btrfs send $* wrote nothing"
	if ! cmp -s "$out/ours.$n" "$out/progs.$n"; then
		# Only a snapshot with inode flags may differ, by its flags.
		k=$(python3 "$TOP/tests/lib/strip_fileattr.py" "$out/ours.$n" "$out/stripped.$n") ||
			fail "cannot parse $out/ours.$n"
		[ "$k" -gt 0 ] && cmp "$out/stripped.$n" "$out/progs.$n" ||
			fail "btrsendctl send $* differs from btrfs send"
		note "identical but for $k inode flag commands: send $*"
		return 0
	fi
	note "identical ($(stat -c %s "$out/ours.$n") bytes): send $*"
}

snapshots "$A"
same "$A/s1"
same -p "$A/s1" "$A/s2"
same -p "$A/s1" -c "$A/s2" "$A/s3"
same -c "$A/s1" "$A/s2"
same -c "$A/s1" "$A/s2" "$A/s3"
same "$A/s1" "$A/s2" "$A/s3"
same -p "$A/s1" "$A/s2" "$A/s3"
same --no-data -p "$A/s1" "$A/s2"
same --proto 2 "$A/s1"
same --proto 2 -p "$A/s1" "$A/s2"

# -o - writes to standard output (a pipe here).
"$CTL" send -o - -p "$A/s1" "$A/s2" | cmp - "$out/progs.2" ||
	fail "send -o - differs from btrfs send"

# --proto auto is progs' --proto 0: the kernel's highest.
"$CTL" send --proto auto -o "$out/auto" "$A/s2" || fail "send --proto auto"
btrfs -q send --proto 0 -f "$out/auto.progs" "$A/s2"
cmp "$out/auto" "$out/auto.progs" || fail "--proto auto differs from --proto 0"
want=$(cat /sys/fs/btrfs/features/send_stream_version 2>/dev/null || echo 1)
got=$(od -An -tu4 -j13 -N4 "$out/auto" | tr -d ' ')
[ "$got" = "$want" ] || fail "--proto auto gave version $got, kernel offers $want"

# The default protocol is 1, as in btrfs send.
got=$(od -An -tu4 -j13 -N4 "$out/ours.1" | tr -d ' ')
[ "$got" = 1 ] || fail "default protocol is $got, want 1"

# --estimate: a NO_FILE_DATA pass first; its total is exactly the file data
# the real pass then carries, and the stream is unchanged.
"$CTL" send --estimate -o "$out/est" -p "$A/s1" "$A/s2" 2> "$out/est.err" ||
	fail "send --estimate: $(cat "$out/est.err")"
cmp "$out/est" "$out/progs.2" || fail "--estimate changed the stream"
grep -Eq 'file data \(estimated [0-9]+\)' "$out/est.err" ||
	fail "no estimate summary: $(cat "$out/est.err")"
data=$(sed -nE 's/.* ([0-9]+) bytes of file data \(estimated ([0-9]+)\).*/\1 \2/p' "$out/est.err")
[ "${data% *}" = "${data#* }" ] && [ "${data% *}" -gt 200000 ] ||
	fail "estimate does not match the data sent: $data"

# On a terminal, a progress line with bytes, rate and percent.
script -qec "'$CTL' send --estimate -o '$out/tty' '$A/s1'" /dev/null > "$out/tty.err" ||
	fail "send on a terminal failed: $(cat "$out/tty.err")"
grep -aq 'commands.*100%' "$out/tty.err" || fail "no progress line on a terminal"
grep -aq '/s ' "$out/tty.err" || fail "no rate in the progress line"
cmp "$out/tty" "$out/progs.1" || fail "send on a terminal differs"

snapshots "$Z"
same --proto 2 --compressed-data "$Z/s1"
same --compressed-data -p "$Z/s1" "$Z/s2"
same --proto 2 --compressed-data "$Z/s1" "$Z/s2" "$Z/s3"
# A zstd mount marks a file that did not compress NOCOMPRESS (lsattr m):
# btrsend leaves it out of its full v2 streams (set by btrfs itself).
lsattr -R "$Z/s1" 2>/dev/null | grep -q '^[^ ]*m' ||
	fail "no file of $Z/s1 is marked nocompress: the test proves less"
# Compressed extents really travelled encoded (command 25).
btrfs receive --dump -f "$out/ours.$n" | grep -q '^encoded_write' ||
	fail "no encoded_write in a --compressed-data stream of a zstd mount"
echo "send identical to btrfs send: $n cases"
