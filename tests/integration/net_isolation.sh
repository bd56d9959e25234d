# Isolation between clients: desktop.test holds a snapshot on the
# receiver; laptop.test then sends an incremental whose parent is that
# very snapshot (same uuid).  The receiver looks for parents only in
# laptop.test's own area, so the transfer is refused at BEGIN (ERROR
# denied) and nothing of it appears; desktop.test's copy is untouched.  A listed client also
# cannot name its way out: job names like ".." are refused on the wire.
# An unlisted client is refused and gets nothing.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup" "client desktop.test"
for who in laptop desktop intruder; do
	net_send_conf -c "$who" "$d/$who.conf"
done
net_start_receiver "$d/recv.conf" "$d/recv.log"

net_source
snap_ro "$SRC/src" "$SRC/snaps/home.20260101T000000Z"
scenario_mutate "$SRC/src" 1
snap_ro "$SRC/src" "$SRC/snaps/home.20260102T000000Z"

timeout 60 "$CTL" send -f "$d/desktop.conf" --job home --retries 0 --to backup \
	"$SRC/snaps/home.20260101T000000Z" > "$d/out" 2>&1 || fail "desktop: $(cat "$d/out")"
theirs=$DST/backup/desktop.test/home/home.20260101T000000Z
[ -d "$theirs" ] || fail "desktop's snapshot missing"
before=$(btrfs subvolume show "$theirs" | grep -E "Generation|Received UUID")

# laptop names desktop's snapshot as its parent.
if timeout 60 "$CTL" send -f "$d/laptop.conf" --job home --retries 0 \
	-p "$SRC/snaps/home.20260101T000000Z" --to backup \
	"$SRC/snaps/home.20260102T000000Z" > "$d/out" 2>&1; then
	fail "laptop cloned from desktop's area: $(cat "$d/out")"
fi
grep -q "denied error: begin home/home.20260102T000000Z: the parent .* lies in another client's area" "$d/out" ||
	fail "laptop was told: $(cat "$d/out")"
note "laptop: $(grep -m1 'error' "$d/out")"
[ -e "$DST/backup/laptop.test/home/home.20260102T000000Z" ] &&
	fail "a snapshot appeared in laptop's area"
[ "$(btrfs subvolume show "$theirs" | grep -E "Generation|Received UUID")" = "$before" ] ||
	fail "desktop's snapshot changed"
"$TOOLS/treecmp" "$SRC/snaps/home.20260101T000000Z" "$theirs" || fail "desktop's copy differs"
# Nothing of laptop's lies anywhere outside its area.
find "$DST/backup" -mindepth 1 -maxdepth 1 | sort > "$d/top"
printf '%s\n' "$DST/backup/desktop.test" "$DST/backup/laptop.test" | diff - "$d/top" ||
	fail "unexpected entries at the receiver's root"

# A job name that would leave the area never reaches the filesystem.
timeout 60 "$CTL" send -f "$d/laptop.conf" --job .. --retries 0 --to backup \
	"$SRC/snaps/home.20260101T000000Z" > "$d/out" 2>&1 && fail "job '..' accepted"
[ "$(ls "$DST/backup/laptop.test" | wc -l)" -le 1 ] || fail "laptop area: $(ls "$DST/backup/laptop.test")"
# An unlisted client is refused by the real daemon, with a line on both
# sides, and nothing is written for it.
timeout 60 "$CTL" send -f "$d/intruder.conf" --job home --retries 3 --to backup \
	"$SRC/snaps/home.20260101T000000Z" > "$d/out" 2>&1 && fail "intruder admitted"
grep -q "auth error: client certificate 'intruder.test'" "$d/out" ||
	fail "intruder was told: $(cat "$d/out")"
grep -q "giving up .* after 1 attempt" "$d/out" || fail "an auth refusal was retried: $(cat "$d/out")"
grep -q "connection refused: client certificate 'intruder.test'" "$d/recv.log" ||
	fail "receiver log: $(cat "$d/recv.log")"
[ -e "$DST/backup/intruder.test" ] && fail "an area was made for the intruder"
echo "isolation between clients: ok"
