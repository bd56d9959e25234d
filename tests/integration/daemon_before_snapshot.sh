# A job's before-snapshot command on a real daemon and real btrfs:
#  * ok: the hook runs before the snapshot (it sees none in the snapshot
#    dir, and its marker is no newer than the snapshot's creation time),
#    with JOB, TARGET, SNAPSHOT and ERROR set; then the run is ok;
#  * a hook that exits 3 fails the run without a snapshot: the state
#    file, `btrsendctl status` and `history` say "before-snapshot hook
#    'CMD' exited 3" and on-failure runs with it in ERROR;
#  * a hook that sleeps past its timeout (test hook
#    BTRSENDD_TEST_HOOK_TIMEOUT=2) is killed, with its process group, and
#    fails the run without a snapshot, "timed out after 2 s".
. "$(dirname "$0")/../lib/common.sh"

fixture_init
btrfs_fs FS 256M
S=$(scratch_dir)
for j in good bad slow; do
	btrfs -q subvolume create "$FS/$j"
	mkdir "$FS/snaps-$j"
done
sock=$S/ctl.sock
cat > "$S/pre.sh" <<EOC
#!/bin/sh
# pre.sh HOW: record what the hook saw, then do HOW.
echo "\$JOB|\$TARGET|\$SNAPSHOT|\$ERROR|\$(ls $FS/snaps-\$JOB | wc -l)" >> $S/pre.\$JOB
touch $S/marker.\$JOB
case "\$1" in
ok)	sleep 1; exit 0 ;;
fail)	exit 3 ;;
sleep)	echo \$\$ > $S/sleeper; sleep 60 & echo \$! >> $S/sleeper; wait ;;
esac
EOC
cat > "$S/post.sh" <<EOC
#!/bin/sh
echo "\$JOB|\$SNAPSHOT|\$ERROR" >> $S/failed.\$JOB
EOC
chmod +x "$S/pre.sh" "$S/post.sh"
job() {   # job NAME HOW
	printf 'job %s {\n  source %s\n  snapshot-dir %s\n  schedule manual\n' \
		"$1" "$FS/$1" "$FS/snaps-$1"
	printf '  before-snapshot "%s %s"\n  on-failure "%s"\n}\n' \
		"$S/pre.sh" "$2" "$S/post.sh"
}
{
	printf 'state-dir %s\ncontrol {\n  socket %s\n}\n' "$S/state" "$sock"
	job good ok
	job bad fail
	job slow sleep
} > "$S/btrsend.conf"
"$BTRSENDD" -n -f "$S/btrsend.conf" > /dev/null 2>&1 || fail "config refused"
"$BTRSENDD" -nv -f "$S/btrsend.conf" 2>/dev/null | grep -qF "before-snapshot \"$S/pre.sh ok\"" ||
	fail "-nv does not print before-snapshot: $("$BTRSENDD" -nv -f "$S/btrsend.conf")"

BTRSENDD_TEST_HOOK_TIMEOUT=2 "$BTRSENDD" -d -f "$S/btrsend.conf" 2>> "$S/daemon.log" &
pid=$!
fixture_track_pid $pid
for i in $(seq 50); do
	"$CTL" status -s "$sock" > /dev/null 2>&1 && break
	sleep 0.1
done
C() { "$CTL" "$1" -s "$sock" "${@:2}"; }
wait_state() {   # wait_state JOB RESULT
	for i in $(seq 150); do
		grep -q "^$1 - [0-9]* [1-9][0-9]* $2" "$S/state/state" 2>/dev/null && return
		sleep 0.1
	done
	cat "$S/daemon.log" >&2
	fail "job $1 never $2: $(cat "$S/state/state" 2>&1)"
}

# ok: the hook ran first, then the snapshot.
C run good > /dev/null || fail "run good"
wait_state good ok
snap=$(ls "$FS/snaps-good")
[ "$(echo "$snap" | wc -l)" = 1 ] || fail "good: snapshots [$snap]"
[ "$(cat "$S/pre.good")" = "good||||0" ] || fail "good: the hook saw $(cat "$S/pre.good")"
otime=$(date -d "$(btrfs subvolume show "$FS/snaps-good/$snap" |
	sed -n 's/^[[:space:]]*Creation time:[[:space:]]*//p')" +%s)
mtime=$(stat -c %Y "$S/marker.good")
[ "$mtime" -le "$otime" ] || fail "good: hook marker at $mtime, snapshot made at $otime"
grep -q "job good: before-snapshot hook done" "$S/daemon.log" || fail "good: no 'hook done' line"

# A failing hook: no snapshot, the run failed, on-failure ran.
C run bad > /dev/null || fail "run bad"
wait_state bad failed
why="before-snapshot hook '$S/pre.sh fail' exited 3"
[ -z "$(ls "$FS/snaps-bad")" ] || fail "bad: a snapshot was taken: $(ls "$FS/snaps-bad")"
grep -qF "failed $why" "$S/state/state" || fail "bad: state: $(cat "$S/state/state")"
grep -qF "job bad: run failed: $why" "$S/daemon.log" || fail "bad: no 'run failed' line"
for i in $(seq 50); do [ -s "$S/failed.bad" ] && break; sleep 0.1; done
grep -qF "bad||$why" "$S/failed.bad" 2>/dev/null || fail "bad: on-failure: $(cat "$S/failed.bad" 2>&1)"
C status | grep "^bad " | grep -q failed || fail "bad: status: $(C status)"
C history | grep -q "error: before-snapshot hook '" || fail "bad: history: $(C history)"
C history --json | grep -qF "exited 3" || fail "bad: history --json: $(C history --json)"
C status --json | grep -qF "exited 3" || fail "bad: status --json: $(C status --json)"

# A hook past its timeout: killed with what it started, the run failed.
start=$(date +%s)
C run slow > /dev/null || fail "run slow"
wait_state slow failed
took=$(( $(date +%s) - start ))
[ "$took" -lt 12 ] || fail "slow: the run took ${took}s with a 2 s hook timeout"
why="before-snapshot hook '$S/pre.sh sleep' timed out after 2 s"
grep -qF "failed $why" "$S/state/state" || fail "slow: state: $(cat "$S/state/state")"
[ -z "$(ls "$FS/snaps-slow")" ] || fail "slow: a snapshot was taken"
for p in $(cat "$S/sleeper"); do	# signalled with the group: gone soon
	for i in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$p" 2>/dev/null && fail "slow: hook process $p still runs: $(ps -o pid,stat,args -p "$p")"
done
for i in $(seq 50); do [ -s "$S/failed.slow" ] && break; sleep 0.1; done
grep -qF "slow||$why" "$S/failed.slow" 2>/dev/null || fail "slow: on-failure: $(cat "$S/failed.slow" 2>&1)"

kill -TERM $pid
wait $pid || fail "exit $? after SIGTERM"
echo "daemon_before_snapshot: ok"
