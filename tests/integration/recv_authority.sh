# The backup host's say over a client's prune (btrsend.conf(5): protect,
# keep-min, append-only), between two real btrsendd over TLS on loopback
# btrfs.  The sender's manual job has keep-target { hourly 1 }: each
# run's PRUNE asks to delete all but the newest snapshot.
#  1. receive block `protect 1h`: nothing is deleted (all were received
#     just now); the run is ok, the sender logs why, history and status
#     show it as a note on the ok target; the receiver logs the names.
#  2. the same block default, but `client laptop.test { protect 0s
#     keep-min 2 }`: the client's own block wins, and keep-min leaves
#     exactly the newest 2.
#  3. `client laptop.test { append-only yes }`: nothing is deleted, the
#     client is told append-only.
# The sender counts what was refused in btrsend_prune_refused_total.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_source
sock=$d/ctl.sock
area=$DST/backup/laptop.test/home

# recv_conf LINE...: the receiver's file, LINEs in its receive block.
recv_conf() {
	local line
	{
		net_tls backup
		cat <<CONF
state-dir $d/rstate
receive {
	listen 127.0.0.1:$NET_PORT
	root $DST/backup
CONF
		for line in "$@"; do printf '\t%s\n' "$line"; done
		echo "}"
	} > "$d/recv.conf"
	net_check_conf "$d/recv.conf" receiver
}

nrecv=0
# start_receiver LINE...: (re)start the receiver with those lines.
start_receiver() {
	if [ $nrecv -gt 0 ]; then
		kill -TERM "$rpid"
		wait "$rpid" 2>/dev/null || true
	fi
	recv_conf "$@"
	nrecv=$((nrecv + 1))
	net_start_receiver "$d/recv.conf" "$d/recv.log" $nrecv
	rpid=$NET_RECV_PID
}

net_send_conf -s "$d/sstate" "$d/send.conf"
echo "control { socket $sock }" >> "$d/send.conf"
mport=$((NET_PORT + 1))
echo "metrics listen 127.0.0.1:$mport" >> "$d/send.conf"
net_job_conf "$d/send.conf" manual "keep-target  { hourly 1 }"
net_check_conf "$d/send.conf" sender

C() { "$CTL" "$1" -s "$sock" "${@:2}"; }

# run_once: one run of home, waited for; it must be ok.
nruns=0
run_once() {
	local i
	nruns=$((nruns + 1))
	[ "$(C run home)" = "job home started" ] || fail "run home"
	net_wait_sender "job home: run ok" $nruns 60
	for i in $(seq 100); do
		C status --json | python3 -c "
import json, sys
sys.exit(bool(json.load(sys.stdin)['running']))" && return
		sleep 0.1
	done
	fail "run $nruns still running"
}

# refused_metric: the sender's btrsend_prune_refused_total for home.
refused_metric() {
	curl -sS -f -m 5 "http://127.0.0.1:$mport/metrics" |
		awk '$1 == "btrsend_prune_refused_total{job=\"home\",target=\"backup\"}" { print $2 }'
}

# held: the target's complete snapshots of home, oldest first.
held() { ls "$area" | sort; }

# The last history record and the status of target backup: ok, with
# the note matching PATTERN.
check_note() {
	C history > "$d/hist.txt"
	C history --json > "$d/h.json"
	C status --json > "$d/st.json"
	python3 - "$d" "$1" <<'PY' || fail "history/status do not show the run ok with the note /$1/: $(cat "$d/hist.txt")"
import json, re, sys
d, pat = sys.argv[1], sys.argv[2]
runs = [r for r in json.load(open(d + "/h.json"))["runs"] if r["target"] == "backup"]
last = runs[-1]
assert last["result"] == "ok", last
assert re.search(pat, last["error"]), last
job = [j for j in json.load(open(d + "/st.json"))["jobs"] if j["name"] == "home"][0]
assert job["last_run"]["result"] == "ok", job
t = [t for t in job["targets"] if t["name"] == "backup"][0]
assert t["result"] == "ok", t
assert re.search(pat, t["error"]), t
PY
	# The text line is cut to 80 columns: its start.
	tail -n 2 "$d/hist.txt" | grep -qE "^ +note: ${1:0:30}" ||
		fail "history shows no note /$1/: $(tail -n 3 "$d/hist.txt")"
	tail -n 2 "$d/hist.txt" | grep -q "error:" &&
		fail "history shows the note as an error: $(tail -n 3 "$d/hist.txt")"
	return 0
}

# 1. protect 1h in the receive block: every snapshot is an hour young.
start_receiver "protect 1h" "client laptop.test"
net_start_sender "$d/send.conf" "$d/send.log"
for i in $(seq 50); do
	C status > /dev/null 2>&1 && break
	sleep 0.1
done
net_log_mark "$d/recv.log"
run_once
run_once
run_once
[ "$(held | wc -l)" = 3 ] || fail "protect 1h: target holds $(held | tr '\n' ' ')"
net_log_says "laptop.test: prune home: kept 2 that the client asked to delete \(protect 1h: home\.[0-9TZ.]*, home\.[0-9TZ.]*\)" \
	"the receiver's log of what protect kept"
grep -q "prune on backup: job home: the backup host kept 2 this client's keep-target would delete: 2 kept by the backup host: protect 1h (2)" "$d/send.log" ||
	fail "the sender did not log the backup host's answer: $(grep "prune on" "$d/send.log")"
grep -q "pruned home/" "$d/recv.log" && fail "protect 1h: the receiver deleted a snapshot"
check_note "prune: 2 kept by the backup host: protect 1h \(2\)"
grep -q "job home: run failed\|target backup: failed\|will retry" "$d/send.log" &&
	fail "a refused prune failed the run"
# Counted on the sender (the receive workers have no metrics channel):
# run 2 was refused 1, run 3 refused 2.
[ "$(refused_metric)" = 3 ] ||
	fail "btrsend_prune_refused_total is '$(refused_metric)', want 3"

# 2. The client's own block: protect 0s, keep-min 2.  The block default
# (protect 1h) would keep all 4; the override keeps the newest 2.
start_receiver "protect 1h" "client laptop.test {" "	protect 0s" \
	"	keep-min 2" "}" "client other.test"
net_log_mark "$d/recv.log"
want=$(held | tail -n 1)
run_once
newest=$(ls "$SRC/snaps" | sort | tail -n 1)
[ "$(held | tr '\n' ' ')" = "$want $newest " ] ||
	fail "keep-min 2: target holds $(held | tr '\n' ' '), want $want $newest"
net_log_says "laptop.test: prune home: kept 1 that the client asked to delete \(keep-min 2: $want\)" \
	"the receiver's log of what keep-min kept"
check_note "prune: 1 kept by the backup host: keep-min 2 \(1\)"

# 3. append-only for this client: nothing goes, whatever keep-target.
start_receiver "client laptop.test {" "	append-only yes" "}"
net_log_mark "$d/recv.log"
run_once
run_once
[ "$(held | wc -l)" = 4 ] || fail "append-only: target holds $(held | tr '\n' ' ')"
net_log_says "laptop.test: prune home: kept 3 that the client asked to delete \(append-only: " \
	"the receiver's log of what append-only kept"
check_note "prune: append-only: the backup host deletes nothing on a client's request \(3 kept\)"
grep -q "job home: run failed" "$d/send.log" && fail "a refused prune failed a run"
# 3 + keep-min 1 + append-only 2 and 3
[ "$(refused_metric)" = 9 ] ||
	fail "btrsend_prune_refused_total is '$(refused_metric)', want 9"
note "protect, keep-min (per client) and append-only held; $nruns runs ok"
echo "recv_authority: ok"
