# SIGHUP reloads the config: a good one adds a job, which runs, and
# systemd hears RELOADING=1 then READY=1; a broken one is reported with
# file:line:column and the running configuration stays in force (its
# job keeps running on schedule, the daemon keeps living).
. "$(dirname "$0")/../lib/common.sh"

fixture_init
btrfs_fs FS 256M
S=$(scratch_dir)
for j in one two; do
	btrfs -q subvolume create "$FS/$j"
	mkdir "$FS/snaps-$j"
done
job() {   # job NAME SCHEDULE
	printf 'job %s {\n  source %s\n  snapshot-dir %s\n  schedule %s\n}\n' \
		"$1" "$FS/$1" "$FS/snaps-$1" "$2"
}
count() { ls "$FS/snaps-$1" | wc -l; }

{ echo "state-dir $S/state"; job one "every 2s"; } > "$S/btrsend.conf"

"$TOOLS/notify_sink" "$S/notify.sock" "$S/notify.log" &
fixture_track_pid $!
for i in $(seq 50); do [ -S "$S/notify.sock" ] && break; sleep 0.1; done
NOTIFY_SOCKET=$S/notify.sock "$BTRSENDD" -d -f "$S/btrsend.conf" \
	2> "$S/daemon.log" &
pid=$!
fixture_track_pid $pid
for i in $(seq 50); do [ "$(count one)" -ge 1 ] && break; sleep 0.1; done
[ "$(count one)" -ge 1 ] || { cat "$S/daemon.log" >&2; fail "job one never ran"; }

# A good config: job two appears and runs at once (it never ran; every
# 20s has at most 2 s of jitter).
{ echo "state-dir $S/state"; job one "every 2s"; job two "every 20s"; } \
	> "$S/btrsend.conf"
kill -HUP $pid
for i in $(seq 60); do [ "$(count two)" -ge 1 ] && break; sleep 0.1; done
[ "$(count two)" -ge 1 ] || { cat "$S/daemon.log" >&2; fail "job two did not run after reload"; }
grep -q 'configuration reloaded: 2 jobs' "$S/daemon.log" || fail "reload not logged"
grep -q '^RELOADING=1' "$S/notify.log" || fail "no RELOADING=1"
[ "$(grep -cx 'READY=1' "$S/notify.log")" -ge 2 ] || fail "no READY=1 after reload"

# A broken config: reported, the old one kept.
printf 'state-dir %s\njob one {\n  schedule sometimes\n}\n' "$S/state" \
	> "$S/btrsend.conf"
kill -HUP $pid
for i in $(seq 50); do grep -q 'reload failed' "$S/daemon.log" && break; sleep 0.1; done
grep -q 'reload failed' "$S/daemon.log" || fail "broken config not reported"
grep -q "$S/btrsend.conf:3:[0-9]*: schedule 'sometimes'" "$S/daemon.log" ||
	{ cat "$S/daemon.log" >&2; fail "error without file:line:column"; }
n=$(count one)
sleep 4.5
kill -0 $pid || fail "daemon died of a broken config"
[ "$(count one)" -ge $((n + 2)) ] || fail "job one stopped after the broken reload"

kill -TERM $pid
wait $pid || fail "exit $? after SIGTERM"
echo "daemon_reload: ok"
