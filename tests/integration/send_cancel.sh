# Cancelling a send while the kernel is blocked writing into the full pipe
# tears everything down: the ioctl fails with EPIPE instead of hanging,
# the thread is joined (no thread left), no fd leaks, and the process is
# not killed by SIGPIPE.  A second cancel right after the header works too.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
btrfs_fs A 512M

btrfs -q subvolume create "$A/src"
head -c 64M /dev/urandom > "$A/src/big"
btrfs -q subvolume snapshot -r "$A/src" "$A/snap"

for n in 1 20; do
	timeout 60 "$TOOLS/send_tool" cancel $n "$A/snap" > "$FIX_DIR/out" 2>&1
	rc=$?
	cat "$FIX_DIR/out" >&2
	[ $rc = 0 ] || fail "cancel after $n units: exit $rc"
	grep -q 'no thread, no fd left' "$FIX_DIR/out" || fail "cancel $n: no verdict"
	# Where the kernel sleeps, when the kernel tells (wchan may read 0).
	grep -Eq "wchan (.*pipe_write|0|\?)$" "$FIX_DIR/out" ||
		fail "cancel $n: ioctl thread not blocked on the pipe"
done

# The filesystem is not left busy: the snapshot can be deleted and the
# filesystem unmounted (the fixture does that on exit).
btrfs -q subvolume delete "$A/snap" || fail "snapshot busy after a cancelled send"
echo "send cancel: ok"
