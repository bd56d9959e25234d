# Immutable and append-only inode flags (FILEATTR) cost the receiver no
# memory: a flood of them keeps a receive well under 64 MiB, also when it
# resumes after a cut; they survive a resume from a checkpoint snapshot
# (other subvolume, same inodes) and a killed run; on the subvolume root
# they no longer stop the receive from finishing, also after a crash
# between its rename and read-only; a partial whose root is immutable can
# still be discarded; a damaged flags file is not half trusted.
# Streams: tests/lib/mkfileattr.c.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
btrfs_fs D 3G
out=$(scratch_dir)
FLOOD=${FLOOD:-1000000}
RSS_MAX_KB=$((64 * 1024))
[ -x /usr/bin/time ] || fail "/usr/bin/time missing (apt-get install time)"

# check_flags DIR NFILES ROOT: every file and d carry their flags and data
check_flags() {
	local v=$1 n=$2 root=$3 i want got
	for i in $(seq 0 $((n - 1))); do
		want=i
		[ $((i % 2)) = 1 ] && want=a
		got=$(lsattr -d "$v/d/f$i" | cut -d' ' -f1 | tr -cd 'ia')
		[ "$got" = "$want" ] || fail "$v/d/f$i: flags '$got', want '$want'"
	done
	[ "$(printf 'first\nsecond\n')" = "$(cat "$v/d/f0")" ] ||
		fail "$v/d/f0: wrong content (a write after FILEATTR was lost)"
	got=$(lsattr -d "$v/d" | cut -d' ' -f1 | tr -cd 'iA')
	[ "$got" = iA ] || fail "$v/d: flags '$got', want 'iA'"
	got=$(lsattr -d "$v" | cut -d' ' -f1 | tr -cd 'ia')
	[ "$got" = "$root" ] || fail "$v: root flags '$got', want '$root'"
	[ "$(btrfs property get -ts "$v" ro)" = "ro=true" ] ||
		fail "$v is not read-only"
	ls -A "$(dirname "$v")" | grep -q '^\.btrsend-' &&
		fail "$(dirname "$v"): .btrsend-* left after a finished receive"
	return 0
}

# rss_run LOG ARGS...: run btrsendctl ARGS, note and check its peak RSS
rss_run() {
	local log=$1 kb rc
	shift
	/usr/bin/time -v -o "$log.time" "$CTL" "$@" > "$log" 2>&1
	rc=$?
	kb=$(awk '/Maximum resident set size/ { print $NF }' "$log.time")
	[ -n "$kb" ] || fail "no peak RSS in $log.time"
	note "$(basename "$log"): peak RSS $kb KiB (exit $rc)"
	[ "$kb" -lt $RSS_MAX_KB ] ||
		fail "peak RSS $kb KiB, over $RSS_MAX_KB KiB"
	return $rc
}

# one FILEATTR a file, so a cut among them leaves files flagged only before
"$TOOLS/mkfileattr" "$out/small" small 200 200 || fail "mkfileattr"

# 6a: immutable or append-only subvolume root.
for r in i a; do
	"$TOOLS/mkfileattr" "$out/root-$r" root$r 4 8 $r || fail "mkfileattr"
	mkdir "$D/root-$r"
	$CTL receive -q -f "$out/root-$r" "$D/root-$r" 2> "$out/root-$r.err" ||
		{ cat "$out/root-$r.err" >&2; fail "root $r: receive failed"; }
	check_flags "$D/root-$r/root$r" 4 $r
done
note "root flags: received, renamed and read-only"

# A file flagged, then removed by the stream: nothing to set, no error.
"$TOOLS/mkfileattr" "$out/gone" gone 4 8 g || fail "mkfileattr"
mkdir "$D/gone"
$CTL receive -f "$out/gone" "$D/gone" > "$out/gone.log" 2>&1 ||
	{ cat "$out/gone.log" >&2; fail "receive of a stream removing a flagged file"; }
grep -q "1 immutable/append-only records name inodes the stream removed" \
    "$out/gone.log" || { cat "$out/gone.log" >&2; fail "the removed inode was not reported"; }
[ -e "$D/gone/gone/d/gone" ] && fail "d/gone was not removed"
check_flags "$D/gone/gone" 4 ""
note "a flagged file removed by the stream: reported, no error"

# 6a: a crash between that rename and read-only is finished by the next
# run, which must not take the subvolume for a stranger's.  Simulated:
# read-only and the root's flag cleared again, and the partial's state
# and flags files put back, as a run cut just before END leaves them.
v=$D/root-i/rooti
mkdir "$D/root-cut"
head -c $(($(stat -c %s "$out/root-i") - 10)) "$out/root-i" > "$out/root-i.cut"
$CTL receive -q -f "$out/root-i.cut" "$D/root-cut" 2> /dev/null &&
	fail "a stream without END was received whole"
cp "$D/root-cut/.btrsend-partial.rooti.state" \
    "$D/root-cut/.btrsend-partial.rooti.flags" "$D/root-i/" ||
	fail "no state or flags file after a cut"
python3 -c '
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x4008941a, struct.pack("Q", 0))   # BTRFS_IOC_SUBVOL_SETFLAGS
' "$v" || fail "clear read-only on $v"
chattr -i "$v" || fail "chattr -i $v"
$CTL receive -f "$out/root-i" "$D/root-i" > "$out/refinish.log" 2>&1 ||
	{ cat "$out/refinish.log" >&2; fail "receive after a crash at the end"; }
grep -q "between its rename and read-only" "$out/refinish.log" ||
	fail "the interrupted end was not finished"
check_flags "$v" 4 i
note "a crash between rename and read-only: finished by the next run"

# 6a: a partial with an immutable root is discarded for another stream.
"$TOOLS/mkfileattr" "$out/disc" disc 6 100 || fail "mkfileattr"
"$TOOLS/mkfileattr" "$out/disc2" disc 8 100 || fail "mkfileattr"
mkdir "$D/disc"
head -c $(($(stat -c %s "$out/disc") / 2)) "$out/disc" > "$out/disc.cut"
$CTL receive -q -f "$out/disc.cut" "$D/disc" 2> /dev/null &&
	fail "a cut stream was received whole"
[ -d "$D/disc/.btrsend-partial.disc" ] || fail "no partial kept after a cut"
chattr +i "$D/disc/.btrsend-partial.disc" || fail "chattr +i on the partial"
$CTL receive -f "$out/disc2" "$D/disc" > "$out/disc.log" 2>&1 ||
	{ cat "$out/disc.log" >&2; fail "discarding a partial with an immutable root"; }
grep -q "discarding partial" "$out/disc.log" || fail "the partial was not discarded"
check_flags "$D/disc/disc" 8 ""
note "partial with an immutable root: discarded"

# 6b: flags recorded before a cut survive a resume from the checkpoint
# snapshot (no progress record, as after a machine crash) ...
mkdir "$D/snap"
head -c $(($(stat -c %s "$out/small") * 6 / 10)) "$out/small" > "$out/small.cut"
$CTL receive -q -f "$out/small.cut" "$D/snap" 2> /dev/null &&
	fail "a cut stream was received whole"
BTRSEND_TEST_IGNORE_PROGRESS=1 $CTL receive -f "$out/small" "$D/snap" \
    > "$out/snap.log" 2>&1 || { cat "$out/snap.log" >&2; fail "resume"; }
grep -q "from checkpoint snapshot" "$out/snap.log" ||
	{ cat "$out/snap.log" >&2; fail "the resume did not restore a checkpoint snapshot"; }
check_flags "$D/snap/small" 200 ""
note "flags after a resume from a checkpoint snapshot: all there"

# A flags file damaged where the checkpoint covers it is not half
# trusted: the partial is discarded, saying why, and the receive starts over.
mkdir "$D/bad"
$CTL receive -q -f "$out/small.cut" "$D/bad" 2> /dev/null &&
	fail "a cut stream was received whole"
f=$D/bad/.btrsend-partial.small.flags
[ "$(stat -c %s "$f")" -ge 64 ] || fail "$f: too few records to damage"
printf 'X' | dd of="$f" bs=1 seek=40 conv=notrunc status=none || fail "damage $f"
$CTL receive -f "$out/small" "$D/bad" > "$out/bad.log" 2>&1 ||
	{ cat "$out/bad.log" >&2; fail "receive over a damaged flags file"; }
grep -q "discarding partial.*flags.*bad checksum at byte 32" "$out/bad.log" ||
	{ cat "$out/bad.log" >&2; fail "the damaged flags file was not named"; }
check_flags "$D/bad/small" 200 ""
note "damaged flags file: partial discarded, received from the start"

# ... and a run killed anywhere (tolerant replay from the progress record).
mkdir "$D/kill"
for k in 1 2 3; do
	$CTL receive -q --checkpoint-bytes 4096 -f "$out/small" "$D/kill" \
	    > /dev/null 2>&1 &
	pid=$!
	fixture_track_pid $pid
	sleep 0.$((RANDOM % 4 + 1))
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ -e "$D/kill/small" ] && break
done
$CTL receive -q -f "$out/small" "$D/kill" 2> "$out/kill.err" ||
	{ cat "$out/kill.err" >&2; fail "receive after kills"; }
check_flags "$D/kill/small" 200 ""
note "flags after killed runs: all there"

# 3: a FILEATTR flood, cut in the middle and resumed from the checkpoint
# snapshot: peak RSS of both runs stays under 64 MiB.
"$TOOLS/mkfileattr" "$out/flood" flood 1000 "$FLOOD" i || fail "mkfileattr"
note "flood: $FLOOD FILEATTR commands, $(stat -c %s "$out/flood") bytes"
mkdir "$D/flood"
head -c $(($(stat -c %s "$out/flood") / 2)) "$out/flood" > "$out/flood.cut"
rss_run "$out/flood1" receive -q -f "$out/flood.cut" "$D/flood" &&
	fail "a cut stream was received whole"
[ -s "$D/flood/.btrsend-partial.flood.flags" ] || fail "no flags file kept"
BTRSEND_TEST_IGNORE_PROGRESS=1 rss_run "$out/flood2" receive \
    -f "$out/flood" "$D/flood" || { cat "$out/flood2" >&2; fail "flood resume"; }
grep -q "resumed" "$out/flood2" || fail "the flood receive did not resume"
check_flags "$D/flood/flood" 1000 i
note "flood: ok"
