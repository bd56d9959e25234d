# A killed receive's progress record is out of other users' reach
# (engine/apply_progress.c).  It lives in /run/btrsend/progress, mode 0700
# root, where an unprivileged user can neither create nor list anything;
# what such a user plants under the old predictable names in /dev/shm (a
# FIFO, a symbolic link to a file of theirs, a file of their own) is no
# longer looked at: the resumes neither fail, nor hang, nor write the
# transfer's identity into the planted file.  A record of someone else in
# the directory is refused and the resume starts at the checkpoint.  With
# the directory unsafe (BTRSEND_TEST_PROGRESS_DIR, test build) the engine
# says so, naming it, and keeps the record in the lock file.  Every
# receive completes equal to its source.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
command -v setpriv >/dev/null || skip "setpriv not installed (make deps)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
btrfs_fs S 1G
btrfs_fs D 1G
out=$(scratch_dir)
PDIR=/run/btrsend/progress
unset BTRSEND_TEST_PROGRESS_DIR BTRSEND_TEST_IGNORE_PROGRESS
planted=$(mktemp -u /dev/shm/btrsend-hostile.XXXXXX)
old=
trap 'rm -rf "$planted" "$planted".* ${old:+"$old"}; fixture_cleanup' EXIT

as_nobody() { (cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"); }

btrfs -q subvolume create "$S/vol" >/dev/null || fail "subvolume create"
mkdir "$S/vol/d"
for i in $(seq 1 200); do echo "file $i" > "$S/vol/d/f$i"; done
"$TOOLS/gen" hostile:1 $((48 << 20)) > "$S/vol/big"
btrfs -q subvolume snapshot -r "$S/vol" "$S/s1" >/dev/null || fail "snapshot"
btrfs -q send -f "$out/full" "$S/s1" || fail "send"

# stalled DIR LOG [ENV...]: a receive into DIR of the stream's first
# 12 MiB, which then waits for more; killed with SIGKILL after 2 s, and
# it must still be running then (not failed on something planted).
stalled() {
	local dir=$1 log=$2 fpid rpid
	shift 2
	rm -f "$out/pipe"
	mkfifo "$out/pipe"
	( head -c $((12 << 20)) "$out/full"; exec sleep 600 ) > "$out/pipe" &
	fpid=$!
	fixture_track_pid $fpid
	env "$@" "$CTL" receive --checkpoint-bytes 1048576 \
		-f "$out/pipe" "$dir" > "$log" 2>&1 &
	rpid=$!
	fixture_track_pid $rpid
	sleep 2
	kill -0 $rpid 2>/dev/null || {
		cat "$log" >&2
		fail "$log: the receive ended early instead of waiting for input"
	}
	kill -9 $rpid $fpid 2>/dev/null
	wait $rpid $fpid 2>/dev/null
	true
}

lock=$D/r/.btrsend-partial.s1.progress
devino() { printf '%x.%x' $(stat -c '%d %i' "$1"); }
has_record() { grep -q BTRSPRG1 "$1" 2>/dev/null; }

mkdir "$D/r"
stalled "$D/r" "$out/log.1"
[ -f "$lock" ] || fail "no partial left by the killed receive"
rec=$PDIR/$(devino "$lock")
old=/dev/shm/btrsend-progress.$(devino "$lock")

# What an attacker plants where the records used to be.  (On the old code
# a record of root's own was there; the attacker would have made the name
# first.)
plant() {
	rm -rf "$old"
	case $1 in
	fifo)	as_nobody mkfifo -m 666 "$old" ;;
	link)	as_nobody sh -c "head -c 4096 /dev/zero > '$planted.target' &&
			ln -s '$planted.target' '$old'" ;;
	file)	as_nobody sh -c "head -c 4096 /dev/urandom > '$old' &&
			chmod 666 '$old'" ;;
	esac || fail "nobody could not plant a $1 at $old"
}
n=1
for kind in ${KINDS:-fifo link file}; do
	n=$((n + 1))
	plant $kind
	stalled "$D/r" "$out/log.$n"
	for f in "$old" "$planted.target"; do
		[ -f "$f" ] && has_record "$f" && fail "the record went into $f, planted by nobody ($kind)"
	done
	[ "$(stat -c %U "$old")" = nobody ] || fail "$old ($kind) was replaced"
done

# Where the record is now: out of reach.
[ "$(stat -c '%F %a %U' "$PDIR" 2>&1)" = "directory 700 root" ] ||
	fail "$PDIR: $(stat -c '%F %a %U' "$PDIR" 2>&1), want a directory 700 root"
[ "$(stat -c '%F %a %U %s' "$rec" 2>&1)" = "regular file 600 root 4096" ] ||
	fail "record $rec: $(stat -c '%F %a %U %s' "$rec" 2>&1)"
has_record "$rec" || fail "record $rec holds no progress"
as_nobody touch "$PDIR/planted" 2>/dev/null && fail "nobody created a file in $PDIR"
as_nobody ls "$PDIR" >/dev/null 2>&1 && fail "nobody listed $PDIR"
as_nobody cat "$rec" >/dev/null 2>&1 && fail "nobody read $rec"

# A record of someone else in the directory (were one ever to get there)
# is refused: the resume starts at the checkpoint, from its snapshot.
has_record "$rec" || fail "the killed resumes left no record in $rec"
chown nobody "$rec"
n=$((n + 1))
stalled "$D/r" "$out/log.$n"
grep -q "progress record $rec refused (owned by uid" "$out/log.$n" || {
	cat "$out/log.$n" >&2
	fail "a record owned by nobody was not refused"
}
grep -q "restored .* from checkpoint snapshot" "$out/log.$n" ||
	fail "the resume after a refused record did not start at the checkpoint"
rm -f "$rec"

# The whole stream now, with the file still planted: complete and equal.
timeout 120 "$CTL" receive -f "$out/full" "$D/r" > "$out/log.end" 2>&1 || {
	cat "$out/log.end" >&2
	fail "the last resume failed (or hung: timeout)"
}
check_received "$S/s1" "$D/r/s1"
[ -e "$rec" ] && fail "record $rec left after the receive finished"
has_record "$old" && fail "the record went into $old, planted by nobody"

# An unsafe directory: said once, with its name; the lock file holds the
# record; the receive completes.
mkdir -m 777 "$out/pdir"
mkdir "$D/r2"
stalled "$D/r2" "$out/log.unsafe" BTRSEND_TEST_PROGRESS_DIR="$out/pdir"
grep -q "cannot use $out/pdir (writable by group or others" "$out/log.unsafe" || {
	cat "$out/log.unsafe" >&2
	fail "a world-writable progress directory was not refused"
}
[ "$(grep -c "cannot use $out/pdir" "$out/log.unsafe")" = 1 ] ||
	fail "the unsafe progress directory was reported more than once"
[ -z "$(ls -A "$out/pdir")" ] || fail "the engine wrote into the unsafe $out/pdir"
has_record "$D/r2/.btrsend-partial.s1.progress" ||
	fail "the lock file does not hold the record"
BTRSEND_TEST_PROGRESS_DIR=$out/pdir timeout 120 "$CTL" receive \
	-f "$out/full" "$D/r2" > "$out/log.unsafe2" 2>&1 || {
	cat "$out/log.unsafe2" >&2
	fail "the receive with an unsafe progress directory failed"
}
check_received "$S/s1" "$D/r2/s1"
echo "receive_progress_hostile: ok"
