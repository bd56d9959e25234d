# A local user cannot stop a network receiver from resuming
# (engine/apply_progress.c): a receive worker killed mid-transfer leaves a
# partial; an unprivileged user plants a FIFO under the name its progress
# record used to have in /dev/shm.  The retry's BEGIN, which looks for the
# record before it answers, must neither hang nor fail on it: the
# transfer resumes and the received snapshot equals its source.  (Before
# the records moved to /run/btrsend/progress the open of that FIFO
# blocked the worker for good.)
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
fixture_init
command -v setpriv >/dev/null || skip "setpriv not installed (make deps)"
id nobody >/dev/null 2>&1 || skip "no user nobody"
net_fixture d 1G
planted=
trap 'rm -f "$planted"; fixture_cleanup' EXIT
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
BTRSEND_CKPT_BYTES=$((4 << 20)) net_start_receiver "$d/recv.conf" "$d/recv.log"
daemon=$NET_RECV_PID
net_send_conf "$d/send.conf"

btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
"$TOOLS/gen" net-hostile $((64 << 20)) > "$SRC/src/big" || fail "gen"
snap=home.20260101T000000Z
btrfs -q subvolume snapshot -r "$SRC/src" "$SRC/snaps/$snap" >/dev/null

# 64 MiB at 16 MiB/s; the worker is killed after about 32 MiB.
"$CTL" send -f "$d/send.conf" --job home --retries 0 --limit 16M \
	--to backup "$SRC/snaps/$snap" > "$d/out1" 2> "$d/err1" &
sender=$!
fixture_track_pid $sender
sleep 2
worker=$(pgrep -n -P "$daemon")
[ -n "$worker" ] || fail "no receive worker 2 s into the transfer"
kill -0 "$sender" 2>/dev/null || fail "the transfer ended too soon: $(cat "$d/err1")"
kill -9 "$worker"
wait "$sender" && fail "the first attempt should have failed"

area=$DST/backup/laptop.test/home
lock=$area/.btrsend-partial.$snap.progress
[ -f "$lock" ] || fail "the killed worker left no partial in $area"
planted=$(printf '/dev/shm/btrsend-progress.%x.%x' $(stat -c '%d %i' "$lock"))
rm -f "$planted"
(cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups \
	mkfifo -m 666 "$planted") || fail "nobody could not make $planted"

timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
	--to backup "$SRC/snaps/$snap" > "$d/out2" 2> "$d/err2" ||
	fail "the retry failed or hung (rc $?): $(cat "$d/err2") / receiver: $(tail -5 "$d/recv.log")"
grep -q 'resuming at command' "$d/out2" ||
	fail "the retry did not resume: $(cat "$d/out2")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" "$area/$snap" ||
	fail "received snapshot differs"
[ -p "$planted" ] || fail "$planted was touched"
echo "net_progress_hostile: ok"
