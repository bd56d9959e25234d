# With an earlier snapshot of the job on DEST's filesystem, a restore of
# a later one sends only the difference, found by uuid and received
# uuid: (a) the job's own earlier snapshot in its snapshot-dir (DEST on
# the source's filesystem), (b) an earlier restore on another
# filesystem.  The bytes from the backup host, counted by the fault
# proxy, stay under 10% of a full restore of the same snapshot, and
# every restored snapshot equals its source.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
. "$TOP/tests/lib/restore.sh"
fixture_init
rs_fixture d 1G
btrfs_fs FRESH 1G
btrfs_fs OTHER 1G

net_source small
# Enough unchanged data that a full restore dwarfs the difference.
"$TOOLS/gen" "1:restore-inc" $((32 << 20)) > "$SRC/src/big" || fail "gen"
s1=home.20260101T000000Z s2=home.20260102T000000Z
rs_snap $s1
scenario_mutate "$SRC/src" 1
rs_snap $s2
rs_send $s1
rs_send $s2

# restore_counted NAME DEST: restore through a new proxy; $bytes: what
# the backup host sent.
n=0
restore_counted() {
	n=$((n + 1))
	net_start_proxy "$d/proxy$n" -T 300
	rs_conf "$d/proxy$n.conf" "$NET_PROXY_PORT"
	rs_restore -c "$d/proxy$n.conf" "$1" "$2"
	bytes=$(rs_bytes "$d/proxy$n")
	kill "${FIX_PIDS[-1]}"
}

mkdir "$FRESH/r"
restore_counted $s2 "$FRESH/r"
full=$bytes
check_received "$SRC/snaps/$s2" "$FRESH/r/$s2"

# From here $s2 is lost locally: the full restore, equal to it, is the
# reference.
uuid2=$(subvol_uuid "$SRC/snaps/$s2")
btrfs -q subvolume delete "$SRC/snaps/$s2" || fail "delete $s2"
ref=$FRESH/r/$s2
# check_restored GOT: equal to $s2 as it was, read-only, received.
check_restored() {
	"$TOOLS/treecmp" --holes --ignore-root-times "$ref" "$1" || fail "$1 differs from $s2"
	[ "$(btrfs property get -ts "$1" ro)" = "ro=true" ] || fail "$1 not read-only"
	[ "$(subvol_field "$1" "Received UUID")" = "$uuid2" ] ||
		fail "$1: received uuid $(subvol_field "$1" "Received UUID"), want $uuid2"
}

# (a) the job's own $s1 lies in the snapshot-dir on the same filesystem
mkdir "$SRC/r"
restore_counted $s2 "$SRC/r"
inc_a=$bytes
check_restored "$SRC/r/$s2"

# (b) an earlier restore of $s1
mkdir "$OTHER/r"
restore_counted $s1 "$OTHER/r"
check_received "$SRC/snaps/$s1" "$OTHER/r/$s1"
restore_counted $s2 "$OTHER/r"
inc_b=$bytes
check_restored "$OTHER/r/$s2"

note "bytes from the backup host: full $full, from the job's own snapshot $inc_a, from an earlier restore $inc_b"
[ -n "$full" ] && [ "$full" -gt $((32 << 20)) ] || fail "full restore passed only '$full' bytes"
[ $((inc_a * 10)) -lt "$full" ] ||
	fail "(a) incremental from the job's own $s1 sent $inc_a bytes, a full restore $full"
[ $((inc_b * 10)) -lt "$full" ] ||
	fail "(b) incremental from an earlier restore sent $inc_b bytes, a full restore $full"
echo "incremental restore sends the difference: ok"
