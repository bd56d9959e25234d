# btrsendctl receive refuses corrupt, truncated and hostile streams with
# one message naming the command index and byte offset, changes nothing
# outside DIR, leaves no finished (read-only, received) subvolume behind,
# and never hangs.  The streams come from tests/lib/mkstream.c.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
btrfs_fs D 512M
[ -x "$TOOLS/mkstream" ] || fail "$TOOLS/mkstream missing (run make)"
tmp=$(scratch_dir)

# Things a stream must not reach: a directory and a file beside the
# receive areas, and a subvolume outside them with a file to clone from.
mkdir "$D/outside"
echo "precious" > "$D/outside/victim"
chmod 0644 "$D/outside/victim"
btrfs -q subvolume create "$D/outsub" >/dev/null || fail "subvolume create"
head -c 65536 /dev/urandom > "$D/outsub/secret"
btrfs -q subvolume snapshot -r "$D/outsub" "$D/outsub-ro" >/dev/null ||
	fail "snapshot outsub"
outuuid=$(btrfs subvolume show "$D/outsub-ro" | awk '/^[[:space:]]*UUID:/ { print $2 }')
[ ${#outuuid} = 36 ] || fail "could not read the uuid of $D/outsub-ro"

# Everything on the filesystem except DIR, with contents and ctimes
# (a ctime moves on any chmod, chown, xattr or link change).
listing() {
	(cd "$D" && find . -path "./${1#$D/}" -prune -o \
	    -printf '%p %y %m %U %G %s %T@ %C@ %n %l\n' | sort)
	find "$D" -path "$1" -prune -o -type f -print0 | sort -z |
		xargs -0 sha256sum
}

no_finished_subvol() {
	local e
	for e in "$1"/* "$1"/.[!.]*; do
		[ -e "$e" ] || continue
		btrfs subvolume show "$e" >/dev/null 2>&1 || continue
		btrfs subvolume show "$e" | grep -q 'Received UUID:[[:space:]]*-$' ||
			fail "$2: $e was left as a received subvolume"
		# a kept partial's checkpoint snapshot is read-only by design
		case ${e##*/} in .btrsend-ckpt.[01].*) continue ;; esac
		[ "$(btrfs property get -ts "$e" ro)" = "ro=false" ] ||
			fail "$2: $e was left read-only"
	done
}

# run CASE: the stream for CASE must be refused cleanly
run() {
	local c=$1 dir=$D/recv.$1 rc
	"$TOOLS/mkstream" "$c" "$tmp/$c" "$D/outside" "$outuuid" ||
		fail "mkstream $c"
	mkdir "$dir"
	listing "$dir" > "$tmp/before"
	timeout 30 "$CTL" receive -q -f "$tmp/$c" "$dir" 2> "$tmp/err"
	rc=$?
	[ $rc = 124 ] && fail "$c: receive hangs"
	[ $rc = 1 ] || { cat "$tmp/err" >&2; fail "$c: exit $rc, want 1"; }
	[ "$(wc -l < "$tmp/err")" = 1 ] ||
		{ cat "$tmp/err" >&2; fail "$c: want exactly one error line"; }
	grep -Eq '(command [0-9]+|stream header).* at byte offset [0-9]+' "$tmp/err" ||
		{ cat "$tmp/err" >&2; fail "$c: error names no command index and offset"; }
	listing "$dir" > "$tmp/after"
	diff "$tmp/before" "$tmp/after" >&2 || fail "$c: something outside DIR changed"
	no_finished_subvol "$dir" "$c"
	note "$c: $(cat "$tmp/err")"
}

# The harness must see success too: the valid stream is received.
"$TOOLS/mkstream" valid "$tmp/valid" || fail "mkstream valid"
mkdir "$D/recv.valid"
"$CTL" receive -q -f "$tmp/valid" "$D/recv.valid" || fail "valid stream refused"
[ "$(cat "$D/recv.valid/evil/ok")" = fine ] || fail "valid stream: wrong content"

for c in $("$TOOLS/mkstream" list); do
	[ "$c" = valid ] && continue
	run "$c"
done

# A name that already exists in DIR is never replaced.
mkdir -p "$D/recv.exists/evil"
echo mine > "$D/recv.exists/evil/file"
"$CTL" receive -q -f "$tmp/valid" "$D/recv.exists" 2> "$tmp/err" &&
	fail "exists: receive replaced an existing name"
[ "$(cat "$D/recv.exists/evil/file")" = mine ] || fail "exists: contents changed"
[ -e "$D/recv.exists/evil/ok" ] && fail "exists: stream written into it"

# DIR must be on btrfs.
"$CTL" receive -q -f "$tmp/valid" "$tmp" 2> "$tmp/err" &&
	fail "receive into a non-btrfs directory succeeded"
grep -q "not on btrfs" "$tmp/err" || fail "non-btrfs DIR: unclear message"
echo "receive hostile: ok"
