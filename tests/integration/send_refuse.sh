# btrsendctl send refuses what cannot be sent, with exit 1 and a message
# that names the problem, the path and the class (permanent), and writes
# no stream: a read-write snapshot, parent or clone source; a missing
# path; a directory that is not a subvolume; an unrelated parent;
# --compressed-data with --proto 1 (usage-level, exit 1 as btrfs does).
. "$(dirname "$0")/../lib/common.sh"
fixture_init
btrfs_fs A 512M
out=$(scratch_dir)

btrfs -q subvolume create "$A/src"
echo data > "$A/src/f"
btrfs -q subvolume snapshot -r "$A/src" "$A/ro"
btrfs -q subvolume snapshot "$A/src" "$A/rw"
btrfs -q subvolume create "$A/other"
btrfs -q subvolume snapshot -r "$A/other" "$A/other-ro"
mkdir "$A/plaindir"

refused() {     # refused PATTERN ARGS...: exit 1, message matches
	local pat=$1; shift
	rm -f "$out/s"
	"$CTL" send "$@" -o "$out/s" 2> "$out/err"
	rc=$?
	[ $rc = 1 ] || fail "send $* exited $rc, want 1 ($(cat "$out/err"))"
	grep -Eq "$pat" "$out/err" ||
		fail "send $*: message '$(cat "$out/err")' lacks /$pat/"
	[ ! -e "$out/s" ] || fail "send $* wrote a stream although refused"
	note "refused: send $*: $(cat "$out/err")"
}

refused "snapshot $A/rw is not read-only.*snapshot -r.*\[permanent\]" "$A/rw"
refused "snapshot $A/src is not read-only" "$A/ro" "$A/src"
refused "parent $A/rw is not read-only.*\[permanent\]" -p "$A/rw" "$A/ro"
refused "clone source $A/rw is not read-only" -c "$A/rw" "$A/ro"
refused "$A/nope does not exist.*\[permanent\]" "$A/nope"
refused "$A/plaindir is not a btrfs subvolume.*\[permanent\]" "$A/plaindir"
refused "parent $A/other-ro is not related to $A/ro.*\[permanent\]" \
	-p "$A/other-ro" "$A/ro"
refused "no parent for $A/ro among the clone sources" -c "$A/other-ro" "$A/ro"
refused "compressed-data needs protocol 2" --proto 1 --compressed-data "$A/ro"

# btrfs send agrees that these cannot be sent.
btrfs -q send -f "$out/p" "$A/rw" 2>/dev/null && fail "btrfs send sent a rw snapshot"

# Usage errors exit 2.
"$CTL" send "$A/ro" 2>/dev/null; [ $? = 2 ] || fail "send without -o: want exit 2"
"$CTL" send --proto 7 -o "$out/s" "$A/ro" 2>/dev/null
[ $? = 2 ] || fail "send --proto 7: want exit 2"
echo "send refusals: ok"
