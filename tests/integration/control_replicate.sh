# btrsendctl against two real daemons replicating over TLS on loopback
# btrfs.  `run` of a manual job replicates; then history --json has the
# run with bytes equal to what `btrfs send` (btrfs-progs, the oracle)
# makes of that snapshot, the snapshot it names exists on the target
# (read-only, received from it); snapshots --json says the target holds
# it; status --json shows the target ok; `monitor --json` saw the run
# start, progress, the target done and the run end, with one run id.  A
# rate-limited transfer shows in status with a progress bar and is
# cancelled by its id: the worker stops, the run is recorded failed
# ("cancelled"), is not retried, and the target keeps its checkpointed
# partial, which a send of that snapshot resumes; the next `run` sends
# incrementally from it.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 1G
net_source
sock=$d/ctl.sock
rsock=$d/rctl.sock

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
echo "control { socket $rsock }" >> "$d/recv.conf"
send_conf() {   # send_conf [BANDWIDTH]: writes $d/send.conf
	net_send_conf -s "$d/sstate" "$d/send.conf" ${1:+"bandwidth $1"}
	echo "control { socket $sock }" >> "$d/send.conf"
	net_job_conf "$d/send.conf" manual "protocol     1"
}
send_conf
net_start_receiver "$d/recv.conf" "$d/recv.log"
net_start_sender "$d/send.conf" "$d/send.log"
spid=$NET_SEND_PID
for i in $(seq 50); do
	"$CTL" status -s "$sock" > /dev/null 2>&1 &&
		grep -q "receiving into" "$d/recv.log" && break
	sleep 0.1
done
"$CTL" status -s "$sock" > /dev/null || fail "sender not answering: $(cat "$d/send.log")"

"$CTL" monitor -s "$sock" --json > "$d/monitor.json" 2> "$d/monitor.err" &
mon=$!
fixture_track_pid $mon
"$CTL" monitor -s "$sock" > "$d/monitor.txt" 2>&1 &
hmon=$!
fixture_track_pid $hmon
sleep 0.3
C() { "$CTL" "$1" -s "$sock" "${@:2}"; }

# wait_runs N: until history has N records and nothing runs.
wait_runs() {
	for i in $(seq 600); do
		kill -0 $spid || fail "sender died: $(tail -20 "$d/send.log")"
		C history --json | python3 -c "
import json, sys
sys.exit(len(json.load(sys.stdin)['runs']) < $1)" &&
		C status --json | python3 -c "
import json, sys
sys.exit(bool(json.load(sys.stdin)['running']))" && return
		sleep 0.1
	done
	fail "no $1 finished runs in 60 s: $(tail -20 "$d/send.log")"
}

[ "$(C run home)" = "job home started" ] || fail "run home"
wait_runs 1
name=$(ls "$SRC/snaps")
[ "$(echo "$name" | wc -l)" = 1 ] || fail "local snapshots: $name"
got=$DST/backup/laptop.test/home/$name
[ -d "$got" ] || fail "$name not on the target"
[ "$(btrfs property get -ts "$got" ro)" = "ro=true" ] || fail "$name not read-only on the target"
btrfs -q send --proto 1 "$SRC/snaps/$name" 2>/dev/null | wc -c > "$d/progs"
C history --json > "$d/h1.json"
C snapshots --json home > "$d/s1.json"
C status --json > "$d/st1.json"
python3 - "$d" "$name" "$(cat "$d/progs")" <<'PY' || { tail -30 "$d/send.log" >&2; fail "JSON disagrees with what happened"; }
import json, sys
d, name, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = json.load(open(d + "/h1.json"))
assert h["version"] == 1
runs = [r for r in h["runs"] if r["target"] == "backup"]
assert len(runs) == 1, h
r = runs[0]
assert r["job"] == "home" and r["result"] == "ok" and r["error"] == "", r
assert r["snapshot"] == name and r["parent"] == "", r
assert r["bytes"] == size, ("history bytes", r["bytes"], "btrfs send", size)
assert r["end"] >= r["start"] and r["duration"] == r["end"] - r["start"], r
s = json.load(open(d + "/s1.json"))
assert [x["name"] for x in s["snapshots"]] == [name], s
assert s["snapshots"][0]["held_by"] == ["backup"], s
t = s["targets"][0]
assert t["name"] == "backup" and t["held_count"] >= 1, t
st = json.load(open(d + "/st1.json"))
job = st["jobs"][0]
assert job["last_run"]["result"] == "ok", job
bt = job["targets"][0]
assert bt["name"] == "backup" and bt["result"] == "ok", bt
assert bt["last_success"] == r["end"], (bt, r)
assert st["running"] == [], st
PY
C history | grep -q "^$(python3 -c "import json;print(json.load(open('$d/h1.json'))['runs'][-1]['id'])") *home *backup .* ok$" ||
	fail "history (human): $(C history)"
C snapshots home | grep -q "^$name .* backup$" || fail "snapshots (human): $(C snapshots home)"
# Human output fits 80 columns.
for cmd in status history "snapshots home"; do
	C $cmd | awk -v c="$cmd" 'length > 80 { print c ": " $0; bad = 1 } END { exit bad }' ||
		fail "over 80 columns"
done

# The monitor saw it all, under one id.
python3 - "$d/monitor.json" <<'PY' || fail "monitor events: $(cat "$d/monitor.json")"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
kinds = [e["event"] for e in ev]
assert all(e["version"] == 1 for e in ev)
assert kinds[0] == "run-start" and "progress" in kinds, kinds
assert kinds[-2:] == ["target-done", "run-end"], kinds
ids = {e.get("live", e.get("run"))["id"] for e in ev}
assert len(ids) == 1, ids
assert ev[-2]["run"]["target"] == "backup" and ev[-2]["run"]["bytes"] > 0, ev[-2]
assert ev[-1]["run"]["target"] == "" and ev[-1]["run"]["result"] == "ok", ev[-1]
PY

id1=$(python3 -c "import json; print(json.load(open('$d/h1.json'))['runs'][-1]['id'])")
grep -Eq "^[0-9:]{8} run-start   #$id1 home$" "$d/monitor.txt" &&
	grep -Eq "^[0-9:]{8} target-done #$id1 home -> backup: ok [0-9.]+M$" "$d/monitor.txt" &&
	grep -Eq "^[0-9:]{8} run-end     #$id1 home: ok home\.[0-9TZ.]+$" "$d/monitor.txt" ||
	fail "monitor: $(cat "$d/monitor.txt")"

# A slow transfer: status shows it; cancel stops it for good.
head -c 48M /dev/urandom > "$SRC/src/big"
send_conf 4M
C reload > /dev/null || fail "reload with a bandwidth limit"
C run home > /dev/null || fail "run home (slow)"
for i in $(seq 200); do
	C status --json > "$d/st2.json"
	python3 -c "
import json, sys
r = json.load(open('$d/st2.json'))['running']
sys.exit(not (r and r[0]['phase'] == 'send' and r[0]['bytes_done'] > 3 << 20
    and r[0]['rate'] > 0))" && break
	sleep 0.1
done
id=$(python3 -c "import json; print(json.load(open('$d/st2.json'))['running'][0]['id'])") ||
	fail "no running transfer: $(cat "$d/st2.json")"
csnap=$(python3 -c "import json; print(json.load(open('$d/st2.json'))['running'][0]['snapshot'])")
python3 - "$d/st2.json" <<'PY' || fail "running transfer in status --json: $(cat "$d/st2.json")"
import json, sys
r = json.load(open(sys.argv[1]))["running"][0]
assert r["job"] == "home" and r["target"] == "backup", r
assert r["total_source"] == "estimate", r
# 48 MiB of random data dominate the stream.
assert 48 << 20 <= r["bytes_total"] <= 56 << 20, r
assert r["percent"] == r["bytes_done"] * 100 // r["bytes_total"], r
assert r["eta"] == -(-(r["bytes_total"] - r["bytes_done"]) // r["rate"]), r
# bandwidth 4M, however M is counted; the recent rate settles slowly.
assert 10**6 <= r["rate"] <= 8 << 20, r
PY
C status > "$d/st2.txt"
note "status during the slow transfer:"; sed "s/^/#   /" "$d/st2.txt" >&2
grep -q "^  #$id home -> backup: send home\." "$d/st2.txt" &&
	grep -Eq '^  \[#*\.+\] +[0-9]+%  [0-9.]+[KMG]/[0-9.]+[KMG]  [0-9.]+[KMG]/s  ETA [0-9hms]+  \((estimate|previous run)\)$' "$d/st2.txt" ||
	fail "status of a running transfer: $(cat "$d/st2.txt")"
out=$(C cancel "$id") || fail "cancel $id"
[ "$out" = "run $id of job home cancelled" ] || fail "cancel said: $out"
wait_runs 2
C history --json > "$d/h2.json"
python3 - "$d/h2.json" "$id" <<'PY' || fail "cancelled run in history: $(cat "$d/h2.json")"
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
r = [x for x in runs if x["id"] == int(sys.argv[2])]
assert len(r) == 1 and r[0]["result"] == "failed", r
PY
C status --json | python3 -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
assert j["last_run"]["result"] == "failed" and "cancelled by btrsendctl" in j["last_run"]["error"], j
assert j["next_run"] is None and not j["running"], j' || fail "status after cancel: $(C status)"
grep -q "job home: run $id cancelled, stopping worker" "$d/send.log" || fail "cancel not logged"
sleep 3
C status --json | python3 -c '
import json, sys
sys.exit(bool(json.load(sys.stdin)["running"]))' || fail "a cancelled run was retried"
rc=0; C cancel "$id" 2> "$d/err" || rc=$?
[ $rc = 1 ] && grep -q "no running run $id" "$d/err" || fail "second cancel: exit $rc: $(cat "$d/err")"

# The target keeps the cancelled transfer's partial, for a resume.
part=$DST/backup/laptop.test/home/.btrsend-partial.$csnap
[ -d "$part" ] || fail "no partial of $csnap on the target: $(ls -a "$DST/backup/laptop.test/home")"
[ ! -d "$DST/backup/laptop.test/home/$csnap" ] || fail "cancelled $csnap completed anyway"

# The checkpoint is good: a send of the cancelled snapshot resumes it
# (a run sends only the newest snapshot on this branch).
send_conf
C reload > /dev/null || fail "reload without the limit"
"$CTL" send -f "$d/send.conf" --job home --retries 0 --proto 1 \
	-p "$SRC/snaps/$name" --to backup "$SRC/snaps/$csnap" > "$d/resume.out" 2>&1 ||
	fail "send of the cancelled $csnap: $(cat "$d/resume.out")"
grep -q "$csnap: resuming at command [1-9][0-9]*, byte [1-9][0-9]*" "$d/resume.out" ||
	fail "the cancelled transfer did not resume: $(cat "$d/resume.out")"
[ -d "$DST/backup/laptop.test/home/$csnap" ] || fail "$csnap not on the target after resuming"

# The next run replicates incrementally from it.
C run home > /dev/null || fail "run home (after cancel)"
wait_runs 3
C history --json > "$d/h3.json"
python3 - "$d/h3.json" "$csnap" <<'PY' || fail "run after cancel: $(cat "$d/h3.json")"
import json, sys
r = json.load(open(sys.argv[1]))["runs"][-1]
assert r["result"] == "ok" and r["target"] == "backup", r
assert r["parent"] == sys.argv[2] and r["bytes"] < 1 << 20, r
PY
newest=$(ls "$SRC/snaps" | sort | tail -n 1)
[ -d "$DST/backup/laptop.test/home/$newest" ] || fail "$newest not on the target"
C history --json -n 2 > "$d/h4.json"
python3 - "$d/h3.json" "$d/h4.json" <<'PY' || fail "history -n 2: $(cat "$d/h4.json")"
import json, sys
full = json.load(open(sys.argv[1]))["runs"]
last = json.load(open(sys.argv[2]))["runs"]
assert len(full) > 2 and last == full[-2:], (full, last)
PY
[ "$(C history -n 1 | wc -l)" = 2 ] || fail "history -n 1: $(C history -n 1)"
# Interrupted, monitor ends cleanly; when the daemon stops, with status 1.
kill -INT $hmon
wait $hmon || fail "monitor after SIGINT: exit $?"
kill -TERM $spid
rc=0
wait $mon || rc=$?
[ $rc = 1 ] && grep -q "btrsendd closed the connection" "$d/monitor.err" ||
	fail "monitor when the daemon stops: exit $rc: $(cat "$d/monitor.err")"
wait $spid || fail "sender exit $?"
echo "control_replicate: ok"
