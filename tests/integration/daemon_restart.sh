# The state file carries a job's last run across restarts: a restart
# soon after a run does not run it again; a restart after the host was
# "down" for ten intervals (the state's start time moved back) runs it
# exactly once at start-up; a run left "running" by a killed daemon is
# run again at start-up; a damaged state file is set aside (state.bad)
# and the daemon starts with no history.
. "$(dirname "$0")/../lib/common.sh"

fixture_init
btrfs_fs FS 256M
S=$(scratch_dir)
btrfs -q subvolume create "$FS/src"
mkdir "$FS/snaps"
cat > "$S/btrsend.conf" <<EOC
state-dir $S/state
job r {
    source       $FS/src
    snapshot-dir $FS/snaps
    schedule     every 20s
}
EOC
count() { ls "$FS/snaps" | wc -l; }
pid=
start() {
	"$BTRSENDD" -d -f "$S/btrsend.conf" 2>> "$S/daemon.log" &
	pid=$!
	fixture_track_pid $pid
}
stop() {
	kill -TERM $pid
	wait $pid || fail "exit $? after SIGTERM"
}
wait_count() {   # wait_count N: up to 4 s (every 20s: jitter <= 2 s)
	for i in $(seq 40); do [ "$(count)" -ge "$1" ] && break; sleep 0.1; done
	[ "$(count)" -ge "$1" ] || { cat "$S/daemon.log" >&2; fail "expected $1 snapshots, have $(count)"; }
}

start
wait_count 1
stop
t1=$(awk '$1 == "r" { print $3 }' "$S/state/state")
[ -n "$t1" ] || fail "no state for job r: $(cat "$S/state/state")"

# Restarted at once: the last run is recent, nothing runs.
start
sleep 3
[ "$(count)" = 1 ] || fail "a restart re-ran a job that had just run"
stop
[ "$(awk '$1 == "r" { print $3 }' "$S/state/state")" = "$t1" ] ||
	fail "the state's start time changed without a run"

# Down for ten intervals: one run at start-up, not ten.
sed -i "s/^r - $t1 /r - $((t1 - 200)) /" "$S/state/state"
start
wait_count 2
sleep 3
[ "$(count)" = 2 ] || fail "missed runs ran $(($(count) - 1)) times, expected once"
stop

# Killed during a run: the state says running; the run is redone.
t2=$(awk '$1 == "r" { print $3 }' "$S/state/state")
sed -i "s/^r - $t2 [0-9]* ok /r - $t2 0 running /" "$S/state/state"
grep -q "^r - $t2 0 running" "$S/state/state" || fail "could not edit the state"
start
wait_count 3
stop
grep -q 'did not complete; running it again' "$S/daemon.log" ||
	fail "the interrupted run was not reported"
grep -q '^r - [0-9]* [0-9]* ok' "$S/state/state" || fail "state: $(cat "$S/state/state")"

# Damaged: set aside, no history, so the job runs at start-up.
echo garbage > "$S/state/state"
start
wait_count 4
stop
grep -q 'not a btrsend state file.*set aside as .*/state.bad' "$S/daemon.log" ||
	fail "damaged state file not reported"
[ "$(cat "$S/state/state.bad")" = garbage ] || fail "state.bad is not the damaged file"
grep -q '^r - [0-9]* [0-9]* ok' "$S/state/state" || fail "no fresh state"
echo "daemon_restart: ok"
