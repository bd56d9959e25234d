# A whole snapshot comes back exactly: the scenario source (regular,
# sparse, reflinked and hard-linked files, xattrs, POSIX ACLs, file
# capabilities, symlinks, fifos, sockets, device nodes, owners, modes,
# times) plus inode flags (chattr +i +a +d +A +C +S, which travel only
# in an incremental send) is sent to the backup host, full then
# incrementally; locally it is gone (the restore goes to a fresh
# filesystem that holds nothing related); `btrsendctl restore` brings
# DEST/SNAPSHOT back: equal to the source (treecmp), holes included,
# the same inode flags, read-only, marked received with the source's
# uuid.  A name that already exists at the destination is refused and
# left as it was.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
. "$TOP/tests/lib/restore.sh"
fixture_init
rs_fixture d 1G
btrfs_fs LOST 1G

net_source small
mkdir "$SRC/src/flags"
for f in immutable append nodump noatime sync; do echo "$f" > "$SRC/src/flags/$f"; done
: > "$SRC/src/flags/nocow"
mkdir "$SRC/src/flags/dir"
s0=home.20260101T000000Z s1=home.20260102T000000Z
rs_snap $s0
scenario_mutate "$SRC/src" 1
chattr +i "$SRC/src/flags/immutable" && chattr +a "$SRC/src/flags/append" &&
	chattr +d "$SRC/src/flags/nodump" && chattr +A "$SRC/src/flags/noatime" &&
	chattr +C "$SRC/src/flags/nocow" && chattr +S "$SRC/src/flags/sync" &&
	chattr +A "$SRC/src/flags/dir" || fail "chattr"
rs_snap $s1
rs_send $s0
rs_send $s1 --proto 2	# FILEATTR is a version 2 command
lsattr -d "$(rs_held $s1)/flags/immutable" | grep -q -- '-i-' ||
	fail "the backup host's copy lacks the immutable flag: the test would prove nothing"

# "Deleted locally": the restore goes to $LOST, which holds nothing
# related, so the whole snapshot must travel.
mkdir "$LOST/restored"
rs_restore $s1 "$LOST/restored"
got=$LOST/restored/$s1
[ -d "$got" ] || fail "no $got after the restore: $(ls -la "$LOST/restored")"
[ "$(ls "$LOST/restored")" = "$s1" ] || fail "DEST holds more: $(ls "$LOST/restored")"
check_received "$SRC/snaps/$s1" "$got"
"$TOOLS/treecmp" --holes --ignore-root-times "$SRC/snaps/$s1" "$got" ||
	fail "holes differ"
(cd "$SRC/snaps/$s1/flags" && lsattr -d -- *) > "$d/flags.want" || fail "lsattr source"
(cd "$got/flags" && lsattr -d -- *) > "$d/flags.got" || fail "lsattr restored"
diff "$d/flags.want" "$d/flags.got" >&2 || fail "inode flags differ (above: source, restored)"
touch "$got/probe" 2>/dev/null && fail "the restored snapshot is writable"

# A name that exists at the destination is never written over.
mkdir "$LOST/occupied" "$LOST/occupied/$s0"
echo mine > "$LOST/occupied/$s0/keep"
rs_restore_fails $s0 "$LOST/occupied"
[ "$(ls -A "$LOST/occupied/$s0")" = keep ] && [ "$(cat "$LOST/occupied/$s0/keep")" = mine ] ||
	fail "the existing $LOST/occupied/$s0 was changed: $(ls -la "$LOST/occupied/$s0")"
grep -q "$s0" "$RS_ERR" || fail "the refusal does not name what exists: $(cat "$RS_ERR")"
echo "whole restore equals the source: ok"
