# btrsendd runs a job `every 2s` on real btrfs: read-only snapshots appear
# on schedule (starts 2-3 s apart: the interval plus at most 0.2 s of
# jitter), keep-source { hourly 1 } prunes all but the newest, the
# on-success hook sees JOB and SNAPSHOT, systemd hears READY=1, STATUS=
# and STOPPING=1 on NOTIFY_SOCKET, WATCHDOG=1 at half of WATCHDOG_USEC,
# and SIGTERM during a slow hook ends the daemon, and the hook, within a
# few seconds with exit 0.
. "$(dirname "$0")/../lib/common.sh"

fixture_init
btrfs_fs FS 256M
S=$(scratch_dir)
btrfs -q subvolume create "$FS/src"
mkdir "$FS/snaps"
echo data > "$FS/src/file"

cat > "$S/btrsend.conf" <<EOC
state-dir $S/state
job sched {
    source       $FS/src
    snapshot-dir $FS/snaps
    schedule     every 2s
    keep-source  { hourly 1 }
    on-success   "$S/hook.sh"
}
EOC
cat > "$S/hook.sh" <<EOC
#!/bin/sh
echo "\$JOB \$SNAPSHOT [\$ERROR]" >> $S/hook.log
[ -e $S/slow ] && { echo \$\$ > $S/hook.pid; exec sleep 60; }
exit 0
EOC
chmod +x "$S/hook.sh"

"$TOOLS/notify_sink" "$S/notify.sock" "$S/notify.log" &
fixture_track_pid $!
for i in $(seq 50); do [ -S "$S/notify.sock" ] && break; sleep 0.1; done

NOTIFY_SOCKET=$S/notify.sock WATCHDOG_USEC=500000 \
	"$BTRSENDD" -d -f "$S/btrsend.conf" \
	2> "$S/daemon.log" &
pid=$!
fixture_track_pid $pid

# Wait for five runs (about 8 s).
for i in $(seq 150); do
	[ "$(cat "$S/hook.log" 2>/dev/null | wc -l)" -ge 5 ] && break
	kill -0 $pid 2>/dev/null || { cat "$S/daemon.log" >&2; fail "daemon died"; }
	sleep 0.1
done
runs=$(wc -l < "$S/hook.log")
[ "$runs" -ge 5 ] || { cat "$S/daemon.log" >&2; fail "only $runs runs in 15s"; }

# Each run's snapshot, from the hook; starts 2-3 s apart.
awk '{print $2}' "$S/hook.log" > "$S/made"
grep -qv '^sched\.' "$S/made" && fail "hook got a bad SNAPSHOT: $(cat "$S/made")"
awk '$1 != "sched" { bad = 1 } END { exit bad }' "$S/hook.log" ||
	fail "hook got a bad JOB"
prev=
while read -r snap; do
	ts=${snap#sched.}
	t=$(date -u -d "${ts:0:4}-${ts:4:2}-${ts:6:2} ${ts:9:2}:${ts:11:2}:${ts:13:2}" +%s)
	if [ -n "$prev" ]; then
		d=$((t - prev))
		[ $d -ge 2 ] && [ $d -le 3 ] ||
			fail "runs $d s apart, expected 2-3 s: $(cat "$S/made")"
	fi
	prev=$t
done < "$S/made"

# Pruned down to the newest; it is read-only.
sleep 0.5
left=$(ls "$FS/snaps")
[ "$(echo "$left" | wc -l)" = 1 ] || fail "keep-source kept: $left"
newest=$(tail -n 1 "$S/made")
case $left in
"$newest"|sched.*) ;;
*) fail "kept $left, not a snapshot of the job" ;;
esac
[ "$(btrfs property get -ts "$FS/snaps/$left" ro)" = "ro=true" ] ||
	fail "$left is not read-only"
cmp -s "$FS/snaps/$left/file" "$FS/src/file" || fail "snapshot content differs"
grep -q "deleted snapshot sched\." "$S/daemon.log" || fail "no pruning logged"

grep -qx 'READY=1' "$S/notify.log" || fail "no READY=1 on NOTIFY_SOCKET"
grep -q '^STATUS=.*next: sched at ' "$S/notify.log" || fail "no STATUS= with the next run"
# WatchdogSec=0.5s: pings every 0.25 s, so well over 10 in the 8 s or so.
pings=$(grep -cx 'WATCHDOG=1' "$S/notify.log")
[ "$pings" -ge 10 ] || fail "only $pings WATCHDOG=1 pings"

# A slow hook is running when SIGTERM comes: the daemon still stops fast.
touch "$S/slow"
n=$(wc -l < "$S/hook.log")
for i in $(seq 60); do
	[ -s "$S/hook.pid" ] && break
	sleep 0.1
done
hook=$(cat "$S/hook.pid") || fail "the slow hook did not start"
kill -0 "$hook" || fail "slow hook not running"
start=$(date +%s%N)
kill -TERM $pid
rc=0
wait $pid || rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = 0 ] || { cat "$S/daemon.log" >&2; fail "exit $rc after SIGTERM"; }
[ $ms -lt 3000 ] || fail "SIGTERM took $ms ms"
grep -qx 'STOPPING=1' "$S/notify.log" || fail "no STOPPING=1"
sleep 0.3
st=$(ps -o stat= -p "$hook" 2>/dev/null || true)   # a zombie is dead
[ -n "$st" ] && [ "${st#Z}" = "$st" ] && fail "the hook outlived the daemon"
grep -q 'state-dir\|error' "$S/daemon.log" && { cat "$S/daemon.log" >&2; fail "errors logged"; }
grep -q "^sched - [0-9]* [0-9]* ok" "$S/state/state" || fail "state: $(cat "$S/state/state")"
note "$runs runs, stopped in $ms ms"
echo "daemon_schedule: ok"
