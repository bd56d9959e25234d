# `btrsendctl dump` prints exactly what `btrfs receive --dump` (btrfs-progs
# 6.2, the oracle) prints, with the same exit status:
#  1. crafted streams: every command type, hostile names, raw xattr data,
#     overlong paths, unprintable times (recorded by the dump unit test),
#     and empty / truncated / trailing-garbage inputs;
#  2. kernel streams of a rich tree: full and incremental, v1, v2 and v2
#     --compressed-data on compress=zstd, lzo and zlib mounts, --no-data,
#     several subvolumes with and without -e;
# each under several time zones.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"

[ -x "$CTL" ] || fail "$CTL missing (make integration)"
[ -x "$BIN/tests/test_dump" ] || fail "$BIN/tests/test_dump missing (run make)"
fixture_init
S=$(scratch_dir)
ncompared=0

# same_as_progs STREAM TZ [PIPE]: compare stdout byte for byte and the exit
# status; with PIPE the stream goes through a pipe on stdin.
same_as_progs() {
	local f=$1 tz=$2 prc orc
	TZ=$tz btrfs receive --dump -f "$f" > "$S/progs.out" 2> "$S/progs.err"
	prc=$?
	if [ -n "${3:-}" ]; then
		cat "$f" | TZ=$tz "$CTL" dump > "$S/ours.out" 2> "$S/ours.err"
		orc=${PIPESTATUS[1]}
	else
		TZ=$tz "$CTL" dump -f "$f" > "$S/ours.out" 2> "$S/ours.err"
		orc=$?
	fi
	if ! cmp -s "$S/progs.out" "$S/ours.out"; then
		diff -u "$S/progs.out" "$S/ours.out" | head -40 >&2
		fail "$(basename "$f") TZ=$tz: dump differs from btrfs receive --dump"
	fi
	# progs exits 1 on a stream it rejects, and so must we (naming where).
	if [ $((prc != 0)) != $((orc != 0)) ]; then
		cat "$S/progs.err" "$S/ours.err" >&2
		fail "$(basename "$f") TZ=$tz: exit status $orc, progs $prc"
	fi
	if [ "$orc" != 0 ] && ! grep -Eq 'byte offset [0-9]+|empty stream' "$S/ours.err"; then
		cat "$S/ours.err" >&2
		fail "$(basename "$f"): error does not name the byte offset"
	fi
	ncompared=$((ncompared + 1))
}

# 1. Crafted streams.  The unit test records each of its streams with the
# lines it asserts; progs must print those lines, and so must btrsendctl.
R=$S/recorded
mkdir "$R"
DUMP_RECORD_DIR=$R "$BIN/tests/test_dump" > "$S/unit.log" 2>&1 ||
	{ cat "$S/unit.log" >&2; fail "test_dump failed in record mode"; }
n=0
for meta in "$R"/*.meta; do
	name=$(basename "$meta" .meta)
	tz=$(sed -n 's/^TZ=//p' "$meta")
	want_rc=$(sed -n 's/^RC=//p' "$meta")
	TZ=$tz btrfs receive --dump -f "$R/$name.stream" > "$S/progs.out" 2>/dev/null
	rc=$?
	cmp -s "$S/progs.out" "$R/$name.expected" ||
		{ diff -u "$R/$name.expected" "$S/progs.out" >&2;
		  fail "$name: progs 6.2 disagrees with the unit test's expectation"; }
	[ $((rc != 0)) = "$want_rc" ] || fail "$name: progs exit $rc, unit test says $want_rc"
	same_as_progs "$R/$name.stream" "$tz"
	n=$((n + 1))
done
[ "$n" -ge 10 ] || fail "only $n recorded streams"
note "crafted: $n unit-test streams agree with progs"

# Inputs that are not a whole stream; and bytes after END that progs never
# reads (a second, corrupt stream; garbage).
first=$R/commands.stream
: > "$S/empty.stream"
head -c 17 "$first" > "$S/header-only.stream"
head -c 30 "$first" > "$S/cut-in-command.stream"
head -c $(( $(stat -c %s "$first") - 10 )) "$first" > "$S/no-end.stream"
{ cat "$first"; echo garbage; } > "$S/trailing-garbage.stream"
{ cat "$first"; head -c 40 "$first"; } > "$S/second-cut.stream"
printf 'btrfs-strea\0\1\0\0\0' > "$S/bad-magic.stream"
# One flipped byte in the middle: a CRC mismatch after some good lines.
cp "$first" "$S/bad-crc.stream"
printf '\377' | dd of="$S/bad-crc.stream" bs=1 seek=1000 conv=notrunc status=none
for f in empty header-only cut-in-command no-end trailing-garbage second-cut \
	 bad-magic bad-crc; do
	same_as_progs "$S/$f.stream" UTC
	same_as_progs "$S/$f.stream" UTC pipe
done

# Command line: --help 0, usage errors 2, unreadable input 1.
"$CTL" dump --help | grep -q '^usage: btrsendctl dump' || fail "dump --help"
"$CTL" dump -f "$first" extra 2>/dev/null; [ $? = 2 ] || fail "extra argument: want exit 2"
"$CTL" dump -x 2>/dev/null; [ $? = 2 ] || fail "bad option: want exit 2"
"$CTL" dump -f "$S/does-not-exist" 2> "$S/err"; [ $? = 1 ] || fail "missing file: want exit 1"
grep -q does-not-exist "$S/err" || fail "missing file: error does not name it"
"$CTL" dump -f "$S" 2>/dev/null; [ $? = 1 ] || fail "directory as input: want exit 1"

# 2. Kernel streams.  One filesystem per compression; the zstd one also
# carries the uncompressed v1/v2, --no-data and multi-subvolume streams.
kernel_streams() {   # kernel_streams MNT TAG: streams into $S/TAG.*.stream
	local m=$1 t=$2
	btrfs -q subvolume create "$m/vol" >/dev/null || fail "subvolume create"
	scenario_populate "$m/vol" small
	snap_ro "$m/vol" "$m/s0"
	scenario_mutate "$m/vol" 1
	# A flags change: FILEATTR in v2 incremental streams.
	chattr +d "$m/vol/files/size-1" 2>/dev/null || true
	chattr +A "$m/vol/files" 2>/dev/null || true
	snap_ro "$m/vol" "$m/s1"
	scenario_mutate "$m/vol" 2
	snap_ro "$m/vol" "$m/s2"
	btrfs -q send --compressed-data -f "$S/$t.full-c.stream" "$m/s0" ||
		fail "send $t full --compressed-data"
	btrfs -q send --compressed-data -p "$m/s0" -f "$S/$t.inc-c.stream" \
		"$m/s1" || fail "send $t incremental --compressed-data"
	[ "$t" = zstd ] || return 0
	btrfs -q send -f "$S/$t.full-v1.stream" "$m/s0" || fail "send full v1"
	btrfs -q send --proto 2 -f "$S/$t.full-v2.stream" "$m/s0" || fail "send full v2"
	btrfs -q send -p "$m/s0" -f "$S/$t.inc-v1.stream" "$m/s1" || fail "send inc v1"
	btrfs -q send --proto 2 -p "$m/s1" -f "$S/$t.inc-v2.stream" "$m/s2" ||
		fail "send inc v2"
	btrfs -q send --no-data --proto 2 -f "$S/$t.nodata.stream" "$m/s1" ||
		fail "send --no-data"
	# Without -e: concatenated streams (progs shows the first only).
	btrfs -q send -p "$m/s0" -f "$S/$t.multi.stream" "$m/s1" "$m/s2" ||
		fail "send two subvolumes"
	btrfs -q send -e -p "$m/s0" -f "$S/$t.multi-e.stream" "$m/s1" "$m/s2" ||
		fail "send -e two subvolumes"
}

for c in zstd lzo zlib; do
	btrfs_fs FS 512M compress=$c
	kernel_streams "$FS" $c
done

cmds=" "
for f in "$S"/*.*.stream; do
	for tz in UTC Asia/Kolkata America/New_York; do
		same_as_progs "$f" $tz
	done
	same_as_progs "$f" UTC pipe
	[ "$(wc -l < "$S/ours.out")" -gt 0 ] || fail "$(basename "$f"): empty dump"
	cmds="$cmds$(awk '{print $1}' "$S/ours.out" | sort -u | tr '\n' ' ')"
done
# The kernel streams must have exercised what they are meant to.
for c in snapshot subvol mkfile mkdir mknod mkfifo mksock symlink rename \
	 link unlink rmdir set_xattr remove_xattr write clone truncate chmod \
	 chown utimes update_extent fallocate encoded_write; do
	case $cmds in *" $c "*) ;; *) fail "no kernel stream produced a '$c' line" ;; esac
done
case $cmds in *" fileattr "*) ;; *) note "kernel sent no fileattr (flags change not sent)" ;; esac
[ "$(TZ=UTC "$CTL" dump -f "$S/zstd.multi-e.stream" | grep -c '^snapshot')" = 2 ] ||
	fail "send -e stream: expected two snapshot lines"
[ "$(TZ=UTC "$CTL" dump -f "$S/zstd.multi.stream" | grep -c '^snapshot')" = 1 ] ||
	fail "concatenated streams: expected only the first to be shown"
echo "dump matches btrfs receive --dump: $ncompared comparisons"
