# Reading back is confined to the client's own area: desktop.test, a
# listed client of the same backup host, cannot see (ls) or restore
# laptop.test's snapshots; what it is told is what it is told for a
# name that exists nowhere (the same exit code and message, the name
# aside), and nothing arrives at its destination.  An unlisted client
# gets nothing either.  Reads never modify the area: every file's
# times, the subvolumes' generations and the backup host's state are
# the same after laptop's own ls and restore and desktop's attempts.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
. "$TOP/tests/lib/restore.sh"
fixture_init
net_fixture d 1G
net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup" "client desktop.test"
net_start_receiver "$d/recv.conf" "$d/recv.log"
RS_DIR=$d RS_OUT=$d/out RS_ERR=$d/err
for who in laptop desktop intruder; do
	net_send_conf -c $who -s "$d/$who.state" "$d/$who.conf"
done
RS_CONF=$d/laptop.conf

net_source small
s1=home.20260101T000000Z
rs_snap $s1
rs_send $s1
held=$(rs_held $s1)

# area_state: everything a read could change in the backup host's area
# (times to the nanosecond, sizes, xattrs, generations).
area_state() {
	find "$DST/backup" -printf '%p %y %m %s %T@ %C@ %A@\n' 2>/dev/null | sort
	getfattr -R -d -m - -h "$DST/backup" 2>/dev/null
	btrfs subvolume list -a -g -c -u -R "$DST"
}
# atime of reads must not count: mount noatime
mount -o remount,noatime "$DST" || fail "remount noatime"
# A listed client's own (empty) area is made when it first connects, as
# for a send (btrsendd(8)): desktop.test connects once before the
# baseline, and its area must hold nothing.
timeout 60 "$CTL" ls -f "$d/desktop.conf" --from backup --job home > "$d/ls0" 2>&1
[ -d "$DST/backup/desktop.test" ] || fail "desktop.test's first connection made no area"
[ -z "$(ls -A "$DST/backup/desktop.test")" ] ||
	fail "desktop.test's ls left something in its area: $(ls -A "$DST/backup/desktop.test")"
area_state > "$d/before"

# laptop itself sees and restores it (reads only).
timeout 60 "$CTL" ls -f "$d/laptop.conf" --from backup --job home > "$d/ls" 2>&1 ||
	fail "laptop: ls: $(cat "$d/ls")"
grep -q "$s1" "$d/ls" || fail "laptop does not see its own $s1: $(cat "$d/ls")"
mkdir "$SRC/laptop"
rs_restore $s1 "$SRC/laptop"
check_received "$SRC/snaps/$s1" "$SRC/laptop/$s1"

# outcome WHO ARGS...: exit code and message of btrsendctl WHO ARGS,
# with the snapshot names made neutral.
outcome() {
	local who=$1 rc
	shift
	timeout 60 "$CTL" "$1" -f "$d/$who.conf" --from backup "${@:2}" > "$d/o.out" 2> "$d/o.err"
	rc=$?
	echo "exit $rc"
	cat "$d/o.out" "$d/o.err" | sed -e "s/$s1/NAME/g" -e "s/home.29990101T000000Z/NAME/g" \
		-e "s|$SRC/[a-z0-9]*|DEST|g" -e "s/nojob/home/g"
}
mkdir "$SRC/desktop" "$SRC/desktop2" "$SRC/intruder"
for q in "ls --job home" "ls --job home NAME" "ls --job home NAME files" \
	 "restore --job home NAME DEST" "restore --job home --path files NAME DEST"; do
	real=${q//NAME/$s1}
	none=${q//NAME/home.29990101T000000Z}
	# the job's list: against that of a job that exists nowhere
	[ "$q" = "ls --job home" ] && none="ls --job nojob"
	theirs=$(outcome desktop ${real//DEST/$SRC/desktop})
	nowhere=$(outcome desktop ${none//DEST/$SRC/desktop2})
	note "desktop: $q: $(echo "$theirs" | tr '\n' ' ')"
	[ "$theirs" = "$nowhere" ] ||
		fail "desktop: '$q' of laptop's snapshot answers: $theirs / of a name that exists nowhere: $nowhere"
	case $q in
	"ls --job home") ! grep -q "$s1" "$d/o.out" "$d/o.err" ||
		fail "desktop's ls shows laptop's $s1" ;;
	*) echo "$theirs" | grep -qx "exit 0" && fail "desktop: '$q' succeeded" ;;
	esac
	intruder=$(outcome intruder ${real//DEST/$SRC/intruder})
	echo "$intruder" | grep -qx "exit 0" && fail "the unlisted intruder.test: '$q' succeeded"
	echo "$intruder" | grep -q "$s1" && fail "intruder.test was told of $s1: $intruder"
done
left=$(find "$SRC/desktop" "$SRC/desktop2" "$SRC/intruder" -mindepth 1)
[ -z "$left" ] || fail "something arrived for desktop or intruder: $left"

area_state > "$d/after"
diff "$d/before" "$d/after" >&2 || fail "reads changed the backup host's area (above)"
echo "another client cannot see or restore laptop's snapshots; reads change nothing: ok"
