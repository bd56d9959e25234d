# A worker that segfaults (test hook BTRSENDD_TEST_CRASH_JOB) is reported
# as a failed run with the signal, runs the job's on-failure hook with
# ERROR set, is recorded as failed in the state file, and the daemon keeps
# running the other job on schedule.  A worker that sends a message of an
# unknown type (BTRSENDD_TEST_BABBLE_JOB) is killed at once and its run
# fails as a protocol error.
. "$(dirname "$0")/../lib/common.sh"

fixture_init
btrfs_fs FS 256M
S=$(scratch_dir)
for j in good bad babble; do
	btrfs -q subvolume create "$FS/$j"
	mkdir "$FS/snaps-$j"
done
cat > "$S/hook.sh" <<EOC
#!/bin/sh
echo "\$JOB|\$SNAPSHOT|\$ERROR" >> $S/hook.log
EOC
chmod +x "$S/hook.sh"
cat > "$S/btrsend.conf" <<EOC
state-dir $S/state
job good {
    source       $FS/good
    snapshot-dir $FS/snaps-good
    schedule     every 1s
}
job bad {
    source       $FS/bad
    snapshot-dir $FS/snaps-bad
    schedule     every 30s
    on-failure   "$S/hook.sh"
}
job babble {
    source       $FS/babble
    snapshot-dir $FS/snaps-babble
    schedule     every 30s
}
EOC

BTRSENDD_TEST_CRASH_JOB=bad BTRSENDD_TEST_BABBLE_JOB=babble "$BTRSENDD" -d -f "$S/btrsend.conf" \
	2> "$S/daemon.log" &
pid=$!
fixture_track_pid $pid

for i in $(seq 100); do
	[ -s "$S/hook.log" ] && break
	sleep 0.1
done
[ -s "$S/hook.log" ] || { cat "$S/daemon.log" >&2; fail "no on-failure hook"; }
grep -q '^bad||worker killed by signal 11' "$S/hook.log" ||
	fail "on-failure hook environment: $(cat "$S/hook.log")"
grep -q 'job bad: run failed: worker killed by signal 11' "$S/daemon.log" ||
	{ cat "$S/daemon.log" >&2; fail "crash not reported"; }
[ -z "$(ls "$FS/snaps-bad")" ] || fail "the crashed run made a snapshot"

for i in $(seq 50); do
	grep -q 'job babble: run failed' "$S/daemon.log" && break
	sleep 0.1
done
grep -q 'job babble: worker [0-9]*: frame 1 at byte 20: unknown message type 99; killing it' \
	"$S/daemon.log" || { cat "$S/daemon.log" >&2; fail "unknown message type not refused"; }
grep -q 'job babble: run failed: worker protocol error (killed by signal 9' \
	"$S/daemon.log" || { cat "$S/daemon.log" >&2; fail "babbling worker's run not failed"; }

# The daemon lives on and the other job keeps its schedule.
n=$(ls "$FS/snaps-good" | wc -l)
sleep 2.5
kill -0 $pid || fail "daemon died with its worker"
m=$(ls "$FS/snaps-good" | wc -l)
[ "$m" -ge $((n + 2)) ] || fail "good job ran $((m - n)) times in 2.5 s after the crash"
grep -q '^bad - [0-9]* [0-9]* failed worker killed by signal 11' \
	"$S/state/state" || fail "state: $(cat "$S/state/state")"

kill -TERM $pid
wait $pid || fail "exit $? after SIGTERM"
echo "daemon_crash: ok"
