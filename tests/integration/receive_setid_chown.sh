# A setuid/setgid file whose owner changes while its mode stays the same
# arrives with its setuid/setgid bits.  The kernel sends CHOWN but no CHMOD
# for it, and chown(2) clears those bits on the receiving side (btrfs
# receive loses them); btrsendctl receive must not.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
btrfs_fs SRC 512M
btrfs_fs DST 512M

btrfs -q subvolume create "$SRC/vol"
echo data > "$SRC/vol/suid"; chown 1000:1000 "$SRC/vol/suid"; chmod 4750 "$SRC/vol/suid"
echo data > "$SRC/vol/sgid"; chown 1000:1000 "$SRC/vol/sgid"; chmod 2755 "$SRC/vol/sgid"
echo data > "$SRC/vol/both"; chown 1000:1000 "$SRC/vol/both"; chmod 6711 "$SRC/vol/both"
btrfs -q subvolume snapshot -r "$SRC/vol" "$SRC/s1"
# chown clears the bits on the source too; the admin sets the same mode
# again, so the mode the kernel compares is unchanged.
for f in suid sgid both; do
	m=$(stat -c %a "$SRC/vol/$f")
	chown 1001:1002 "$SRC/vol/$f"
	chmod "$m" "$SRC/vol/$f"
done
btrfs -q subvolume snapshot -r "$SRC/vol" "$SRC/s2"

d=$(scratch_dir)
btrfs -q send -f "$d/full" "$SRC/s1" || fail "send s1"
btrfs -q send -f "$d/inc" -p "$SRC/s1" "$SRC/s2" || fail "send s2"
# The case this test is about: chown without chmod in the stream.
"$CTL" dump -f "$d/inc" > "$d/inc.dump" || fail "dump"
grep -q '^chown .*/suid ' "$d/inc.dump" || fail "stream has no chown of suid"
grep -q '^chmod .*/suid ' "$d/inc.dump" &&
	fail "stream has a chmod of suid: the case is not exercised"

mkdir "$DST/r"
"$CTL" receive -q -f "$d/full" "$DST/r" || fail "receive full"
"$CTL" receive -q -f "$d/inc" "$DST/r" || fail "receive incremental"
for f in suid sgid both; do
	want=$(stat -c '%a %u %g' "$SRC/s2/$f")
	got=$(stat -c '%a %u %g' "$DST/r/s2/$f")
	[ "$want" = "$got" ] || fail "$f: source $want, received $got"
done
"$TOOLS/treecmp" --ignore-root-times "$SRC/s2" "$DST/r/s2" || fail "trees differ"
echo "setuid/setgid kept across chown: ok"
