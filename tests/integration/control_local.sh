# btrsendctl's actions on a real daemon and real btrfs, without targets:
# `run` starts a manual job now (the snapshot appears, status and
# snapshots --json show it, as `ls` of the snapshot dir and the state
# file say); `run` of a running job says so; `pause` stops a scheduled
# job, survives a daemon restart (status says paused, no snapshot is
# made) and `unpause` resumes it; `reload` answers with the reloaded job
# count or with the config's file:line errors (exit 1, old config kept);
# unknown jobs and bad arguments fail with exit 1 and 2.
. "$(dirname "$0")/../lib/common.sh"

fixture_init
btrfs_fs FS 256M
S=$(scratch_dir)
for j in man tick hang; do
	btrfs -q subvolume create "$FS/$j"
	mkdir "$FS/snaps-$j"
done
sock=$S/ctl.sock
job() {   # job NAME SCHEDULE
	printf 'job %s {\n  source %s\n  snapshot-dir %s\n  schedule %s\n}\n' \
		"$1" "$FS/$1" "$FS/snaps-$1" "$2"
}
count() { ls "$FS/snaps-$1" | wc -l; }
conf() {
	printf 'state-dir %s\ncontrol {\n  socket %s\n}\n' "$S/state" "$sock"
	job man manual
	job tick "every 1s"
	job hang manual
	"$@"
}
conf > "$S/btrsend.conf"

start_daemon() {
	BTRSENDD_TEST_HANG_JOB=hang "$BTRSENDD" -d -f "$S/btrsend.conf" \
		2>> "$S/daemon.log" &
	pid=$!
	fixture_track_pid $pid
	for i in $(seq 50); do
		"$CTL" status -s "$sock" > /dev/null 2>&1 && return
		sleep 0.1
	done
	cat "$S/daemon.log" >&2
	fail "daemon not answering on $sock"
}
start_daemon
C() { "$CTL" "$1" -f "$S/btrsend.conf" "${@:2}"; }

# run: a manual job runs now.
[ "$(count man)" = 0 ] || fail "manual job ran by itself"
out=$(C run man) || fail "run man: exit $?"
[ "$out" = "job man started" ] || fail "run man said: $out"
for i in $(seq 50); do
	grep -q '^man - [0-9]* [1-9][0-9]* ok' "$S/state/state" && break
	sleep 0.1
done
[ "$(count man)" = 1 ] || fail "run man: $(count man) snapshots"
C status --json > "$S/st.json" || fail "status --json"
C snapshots --json man > "$S/sn.json" || fail "snapshots --json"
python3 - "$S/st.json" "$S/sn.json" "$S/state/state" "$(ls "$FS/snaps-man")" <<'PY' ||
import json, sys
st = json.load(open(sys.argv[1]))
sn = json.load(open(sys.argv[2]))
state = [l.split() for l in open(sys.argv[3]) if l.startswith("man - ")][0]
assert st["version"] == 1 and sn["version"] == 1
jobs = {j["name"]: j for j in st["jobs"]}
assert sorted(jobs) == ["hang", "man", "tick"], jobs
m = jobs["man"]
assert m["schedule"] == "manual" and m["next_run"] is None, m
assert m["last_run"]["result"] == "ok", m
assert m["last_run"]["start"] == int(state[2]), (m, state)
assert m["last_run"]["end"] == int(state[3]), (m, state)
assert jobs["tick"]["schedule"] == "every 1s", jobs["tick"]
assert sn["job"] == "man" and sn["targets"] == [], sn
assert [s["name"] for s in sn["snapshots"]] == [sys.argv[4]], sn
assert sn["snapshots"][0]["held_by"] == [], sn
PY
	fail "status/snapshots JSON disagree with the state file and snapshot dir"
# A --json that cannot be written is an error, not a silent exit 0.
for args in "status --json" "snapshots --json man" "history --json"; do
	rc=0; C $args > /dev/full 2> "$S/err" || rc=$?
	[ $rc = 1 ] && grep -q "No space left on device" "$S/err" ||
		fail "$args > /dev/full: exit $rc: $(cat "$S/err")"
done
C snapshots man | grep -q "^$(ls "$FS/snaps-man") " || fail "snapshots: $(C snapshots man)"

# Colour only on a terminal, and not with NO_COLOR.
esc=$(printf '\033[')
script -qec "$CTL status -s $sock" /dev/null > "$S/tty.out"
grep -qF "$esc" "$S/tty.out" || fail "no colour on a terminal: $(cat -v "$S/tty.out")"
NO_COLOR=1 script -qec "$CTL status -s $sock" /dev/null > "$S/tty.out"
grep -qF "$esc" "$S/tty.out" && fail "colour despite NO_COLOR: $(cat -v "$S/tty.out")"
C status | grep -qF "$esc" && fail "colour into a pipe"

# run of a running job is refused, and says so.
C run hang > /dev/null || fail "run hang"
rc=0
C run hang 2> "$S/err" || rc=$?
[ $rc = 1 ] && grep -q "job hang is already running" "$S/err" ||
	fail "second run of a running job: exit $rc: $(cat "$S/err")"
C status | grep -q '^hang .* running *running$' || fail "status of a running job: $(C status)"

# Unknown job, bad arguments.
rc=0; C run nosuch 2> "$S/err" || rc=$?
[ $rc = 1 ] && grep -q "no job 'nosuch'" "$S/err" || fail "run nosuch: exit $rc: $(cat "$S/err")"
rc=0; C run 2> /dev/null || rc=$?
[ $rc = 2 ] || fail "run without a job: exit $rc"
rc=0; C cancel abc 2> /dev/null || rc=$?
[ $rc = 2 ] || fail "cancel abc: exit $rc"
rc=0; C history -n 0 2> /dev/null || rc=$?
[ $rc = 2 ] || fail "history -n 0: exit $rc"
rc=0; C pause --json tick 2> /dev/null || rc=$?
[ $rc = 2 ] || fail "pause --json: exit $rc"

# pause: no scheduled runs, across a restart.
for i in $(seq 30); do [ "$(count tick)" -ge 1 ] && break; sleep 0.1; done
[ "$(count tick)" -ge 1 ] || fail "tick never ran"
# (a run of tick, every second, may be under way: then it says so)
out=$(C pause tick)
case $out in
"job tick paused" | "job tick paused; the running run continues") ;;
*) fail "pause tick: $out" ;;
esac
sleep 0.5	# a run begun before the pause may still end
n=$(count tick)
sleep 2.5
[ "$(count tick)" = "$n" ] || fail "paused job ran: $n -> $(count tick)"
grep -qx tick "$S/state/paused" || fail "pause not in the state dir"
kill -TERM $pid
wait $pid 2>/dev/null
start_daemon
C status --json | python3 -c '
import json, sys
j = {j["name"]: j for j in json.load(sys.stdin)["jobs"]}
assert j["tick"]["paused"] is True and j["tick"]["next_run"] is None, j["tick"]
assert j["man"]["paused"] is False, j["man"]' || fail "pause lost in the restart"
sleep 2.5
[ "$(count tick)" = "$n" ] || fail "paused job ran after restart: $n -> $(count tick)"
C status | grep -q '^tick .* paused$' || fail "status: $(C status)"
[ "$(C unpause tick)" = "job tick unpaused" ] || fail "unpause tick"
for i in $(seq 40); do [ "$(count tick)" -gt "$n" ] && break; sleep 0.1; done
[ "$(count tick)" -gt "$n" ] || fail "unpaused job did not run"
grep -qx tick "$S/state/paused" && fail "unpause not in the state dir"

# reload: the answer, good or bad.
conf job extra manual > "$S/btrsend.conf"
btrfs -q subvolume create "$FS/extra"
mkdir "$FS/snaps-extra"
out=$(C reload) || fail "reload: exit $?"
[ "$out" = "configuration reloaded: 4 jobs" ] || fail "reload said: $out"
C status | grep -q '^extra ' || fail "reloaded job not in status"
cp "$S/btrsend.conf" "$S/good.conf"
printf 'job broken {\n  schedule sometimes\n}\n' >> "$S/btrsend.conf"
rc=0
"$CTL" reload -s "$sock" > /dev/null 2> "$S/err" || rc=$?
[ $rc = 1 ] || fail "reload of a broken config: exit $rc"
grep -q "has errors; keeping the running configuration" "$S/err" &&
	grep -q "$S/btrsend.conf:[0-9]*:[0-9]*: schedule 'sometimes'" "$S/err" ||
	fail "reload errors: $(cat "$S/err")"
"$CTL" status -s "$sock" | grep -q '^extra ' || fail "old config not kept"

kill -TERM $pid
wait $pid || fail "daemon exit $?"
echo "control_local: ok"
