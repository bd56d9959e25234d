# Job snapshots through libbtrfsutil: created read-only as
# <job>.<YYYYMMDDTHHMMSSZ> (UTC), a second one in the same second gets
# ".2" and never replaces the first; the list has each snapshot's uuid,
# parent uuid, received uuid and ctransid as `btrfs subvolume show`
# reports them, oldest first, and ignores other names; delete removes one.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
btrfs_fs A 512M
T=$TOOLS/send_tool

btrfs -q subvolume create "$A/home"
mkdir "$A/snaps"
echo one > "$A/home/f"
# 1700000000 is 2023-11-14 22:13:20 UTC.
n1=$("$T" snapcreate "$A/home" "$A/snaps" home 1700000000) || fail "create"
[ "$n1" = home.20231114T221320Z ] || fail "first name $n1"
echo two > "$A/home/f"
n2=$("$T" snapcreate "$A/home" "$A/snaps" home 1700000000) || fail "create 2"
[ "$n2" = home.20231114T221320Z.2 ] || fail "same-second name $n2"
[ "$(cat "$A/snaps/$n1/f")" = one ] || fail "first snapshot was replaced"
[ "$(cat "$A/snaps/$n2/f")" = two ] || fail "second snapshot has wrong content"
n3=$("$T" snapcreate "$A/home" "$A/snaps" home 1600000000) || fail "create 3"
[ "$n3" = home.20200913T122640Z ] || fail "third name $n3"
for n in $n1 $n2 $n3; do
	[ "$(btrfs property get -ts "$A/snaps/$n" ro)" = ro=true ] ||
		fail "$n is not read-only"
done
# Not ours: another job, a bad timestamp, a plain directory.
"$T" snapcreate "$A/home" "$A/snaps" homework 1700000000 >/dev/null
btrfs -q subvolume snapshot -r "$A/home" "$A/snaps/home.2023XXXXT221320Z"
mkdir "$A/snaps/home.20231114T221321Z.x"

"$T" snaplist "$A/snaps" home > "$FIX_DIR/list" || fail "list"
cat "$FIX_DIR/list" >&2
[ "$(cut -d' ' -f1 "$FIX_DIR/list" | tr '\n' ' ')" = "$n3 $n1 $n2 " ] ||
	fail "list order/content: $(cut -d' ' -f1 "$FIX_DIR/list" | tr '\n' ' ')"
src_uuid=$(btrfs subvolume show "$A/home" | awk '$1 == "UUID:" { print $2 }')
while read -r name t seq uuid puuid ruuid ctransid ro; do
	show=$(btrfs subvolume show "$A/snaps/$name")
	[ "$uuid" = "$(awk '$1 == "UUID:" { print $2 }' <<<"$show")" ] ||
		fail "$name: uuid $uuid"
	[ "$puuid" = "$src_uuid" ] || fail "$name: parent uuid $puuid"
	[ "$ruuid" = 00000000-0000-0000-0000-000000000000 ] ||
		fail "$name: received uuid $ruuid"
	[ "$ctransid" -gt 0 ] || fail "$name: ctransid $ctransid"
	[ "$t" = "$(date -u -d "$(echo "$name" | sed -E 's/^home\.([0-9]{8})T([0-9]{2})([0-9]{2})([0-9]{2})Z.*/\1 \2:\3:\4/')" +%s)" ] ||
		fail "$name: time $t"
	[ "$ro" = ro ] || fail "$name listed as $ro"
done < "$FIX_DIR/list"

# The source changed between n1 and n2 and not between n2 and n3.
c1=$(awk -v n=$n1 '$1 == n { print $7 }' "$FIX_DIR/list")
c2=$(awk -v n=$n2 '$1 == n { print $7 }' "$FIX_DIR/list")
c3=$(awk -v n=$n3 '$1 == n { print $7 }' "$FIX_DIR/list")
[ "$c1" -lt "$c2" ] && [ "$c2" = "$c3" ] || fail "ctransids $c1 $c2 $c3"

"$T" snapdelete "$A/snaps" "$n1" || fail "delete"
[ ! -e "$A/snaps/$n1" ] || fail "$n1 still there"
"$T" snaplist "$A/snaps" home | grep -q "^$n1 " && fail "$n1 still listed"
"$T" snapdelete "$A/snaps" "../home" 2>/dev/null && fail "deleted outside the directory"
[ -d "$A/home" ] || fail "source gone"
echo "snapshots: ok"
