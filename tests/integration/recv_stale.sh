# The receiver's view of its clients and stale-after (btrsend.conf(5)),
# between two real btrsendd over TLS on loopback btrfs.  The receiver
# scans its areas every second (test hook BTRSEND_TEST_RECVSTAT_SECONDS).
#  1. after a transfer, `btrsendctl status` on the receiver (text and
#     --json) and its metrics show client laptop.test, job home, with the
#     snapshot received, one complete, no partial, not stale;
#  2. laptop.test has `stale-after 4s` in its own block (the receive
#     block's 1h would not fire): once the snapshot is that old the
#     receiver logs it once, the metric and status say stale, and
#     on-stale runs once, not again on the next scans, with CLIENT, JOB,
#     LAST and LAST_TIME;
#  3. a new transfer ends the episode (logged; metric 0); the next
#     silence is a new episode and the hook runs again, naming the new
#     snapshot;
#  4. other.test, listed but with no job, is never reported;
#  5. a partial in the area is counted (status and metric).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_source
sock=$d/ctl.sock
rsock=$d/rctl.sock
rport=$((NET_PORT + 2))
area=$DST/backup/laptop.test/home

cat > "$d/hook.sh" <<EOC
#!/bin/sh
echo "\$CLIENT|\$JOB|\$LAST|\$LAST_TIME|\$STALE_AFTER" >> $d/hook.log
EOC
chmod +x "$d/hook.sh"

{
	net_tls backup
	cat <<CONF
state-dir $d/rstate
control { socket $rsock }
metrics listen 127.0.0.1:$rport
receive {
	listen 127.0.0.1:$NET_PORT
	root $DST/backup
	stale-after 1h
	on-stale "$d/hook.sh"
	client laptop.test {
		stale-after 4s
	}
	client other.test
}
CONF
} > "$d/recv.conf"
net_check_conf "$d/recv.conf" receiver
"$BTRSENDD" -nv -f "$d/recv.conf" > "$d/recv.nv" 2>&1 ||
	fail "btrsendd -nv: $(cat "$d/recv.nv")"
grep -q "^	stale-after 1h$" "$d/recv.nv" && grep -q "^		stale-after 4s$" "$d/recv.nv" &&
	grep -q "^	on-stale \"$d/hook.sh\"$" "$d/recv.nv" ||
	fail "btrsendd -nv does not print stale-after/on-stale: $(cat "$d/recv.nv")"

net_send_conf -s "$d/sstate" "$d/send.conf"
echo "control { socket $sock }" >> "$d/send.conf"
net_job_conf "$d/send.conf" manual
net_check_conf "$d/send.conf" sender

BTRSEND_TEST_RECVSTAT_SECONDS=1 net_start_receiver "$d/recv.conf" "$d/recv.log"
net_start_sender "$d/send.conf" "$d/send.log"
C() { "$CTL" "$1" -s "$sock" "${@:2}"; }
R() { "$CTL" "$1" -s "$rsock" "${@:2}"; }
for i in $(seq 50); do
	C status > /dev/null 2>&1 && R status > /dev/null 2>&1 && break
	sleep 0.1
done

nruns=0
run_once() {
	nruns=$((nruns + 1))
	[ "$(C run home)" = "job home started" ] || fail "run home"
	net_wait_sender "job home: run ok" $nruns 60
}

# metric NAME: the receiver's NAME{client="laptop.test",job="home"}.
metric() {
	curl -sS -f -m 5 "http://127.0.0.1:$rport/metrics" |
		awk -v s="$1{client=\"laptop.test\",job=\"home\"}" '$1 == s { print $2 }'
}

# check_json STALE SNAPSHOTS PARTIALS: the receiver's status --json.
check_json() {
	R status --json > "$d/rst.json" || fail "receiver status --json"
	python3 - "$d/rst.json" "$last" "$1" "$2" "$3" <<'PY' || fail "receiver status --json: $(cat "$d/rst.json")"
import json, sys, time
st = json.load(open(sys.argv[1]))
last, stale, nsnap, npart = sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), int(sys.argv[5])
rec = st["received"]
assert [(r["client"], r["job"]) for r in rec] == [("laptop.test", "home")], rec
r = rec[0]
assert r["last"] == last, r
assert abs(r["last_time"] - time.time()) < 600, r
assert r["snapshots"] == nsnap and r["partials"] == npart, r
assert r["stale"] == stale and r["stale_after"] == 4, r
assert (r["oldest_partial_time"] is None) == (npart == 0), r
PY
}

# 1. One transfer: shown, counted, fresh.
net_log_mark "$d/recv.log"
run_once
last=$(ls "$area" | sort | tail -n 1)
[ -n "$last" ] || fail "nothing received"
for i in $(seq 30); do
	[ "$(metric btrsend_receive_snapshots)" = 1 ] && break
	sleep 0.2
done
[ "$(metric btrsend_receive_snapshots)" = 1 ] ||
	fail "btrsend_receive_snapshots is '$(metric btrsend_receive_snapshots)', want 1"
t=$(metric btrsend_receive_last_seconds)
[ -n "$t" ] && [ $((t - $(date +%s))) -lt 5 ] && [ $(($(date +%s) - t)) -lt 600 ] ||
	fail "btrsend_receive_last_seconds is '$t', want about now"
[ "$(metric btrsend_receive_partials)" = 0 ] || fail "partials metric: $(metric btrsend_receive_partials)"
check_json 0 1 0
R status > "$d/rst.txt"
grep -qE "^laptop\.test +home +[0-9-]+ [0-9:]+ +1 +0$" "$d/rst.txt" &&
	grep -qx "  last: $last" "$d/rst.txt" ||
	fail "receiver status does not show laptop.test/home: $(cat "$d/rst.txt")"
grep -q "other.test" "$d/rst.txt" && fail "other.test, with no job, is shown"

# 2. Stale after 4s: logged once, the hook once, however many scans.
net_log_says "client laptop\.test job home: nothing received for [0-9]+s \(last: $last at [0-9T:Z-]+\); stale-after is 4s" \
	"the stale episode"
for i in $(seq 30); do
	[ -s "$d/hook.log" ] && break
	sleep 0.2
done
sleep 3
[ "$(wc -l < "$d/hook.log")" = 1 ] ||
	fail "on-stale ran $(wc -l < "$d/hook.log") times: $(cat "$d/hook.log")"
grep -qE "^laptop\.test\|home\|$last\|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\|4$" "$d/hook.log" ||
	fail "on-stale environment: $(cat "$d/hook.log")"
[ "$(grep -c "nothing received" "$d/recv.log")" = 1 ] ||
	fail "the stale episode was logged $(grep -c "nothing received" "$d/recv.log") times"
[ "$(metric btrsend_receive_stale)" = 1 ] || fail "btrsend_receive_stale is '$(metric btrsend_receive_stale)', want 1"
[ "$(metric btrsend_receive_stale_episodes_total)" = 1 ] || fail "episodes metric"
check_json 1 1 0
R status | grep -q "^  stale: nothing received for" || fail "status text shows no stale line: $(R status)"

# 3. A new transfer ends it; the next silence is a new episode.
net_log_mark "$d/recv.log"
run_once
last=$(ls "$area" | sort | tail -n 1)
net_log_says "client laptop\.test job home: receiving again \(last: $last at " "the end of the episode"
[ "$(metric btrsend_receive_stale)" = 0 ] || fail "btrsend_receive_stale is '$(metric btrsend_receive_stale)' after a transfer"
check_json 0 2 0
# stale-after is 4 s and a scan runs every second: give it up to 15 s
for i in $(seq 150); do
	tail -c +$((NET_LOG_MARK + 1)) "$NET_LOG_WATCH" | grep -q "nothing received for" && break
	sleep 0.1
done
net_log_says "client laptop\.test job home: nothing received for [0-9]+s \(last: $last at " "the second episode"
for i in $(seq 30); do
	[ "$(wc -l < "$d/hook.log")" = 2 ] && break
	sleep 0.2
done
tail -n 1 "$d/hook.log" | grep -q "^laptop\.test|home|$last|" ||
	fail "the second on-stale run: $(cat "$d/hook.log")"

# 4. other.test never delivered: nothing to be stale about.
grep -q "client other.test" "$d/recv.log" && fail "other.test, with no job, was reported"

# 5. A partial in the area is counted.
btrfs -q subvolume create "$area/.btrsend-partial.home.29990101T000000Z" ||
	fail "making a partial"
for i in $(seq 30); do
	[ "$(metric btrsend_receive_partials)" = 1 ] && break
	sleep 0.2
done
[ "$(metric btrsend_receive_partials)" = 1 ] || fail "btrsend_receive_partials is '$(metric btrsend_receive_partials)', want 1"
check_json 1 2 1
R status | grep -q "^  oldest partial: " || fail "status text shows no partial: $(R status)"
note "status, metrics, one on-stale per episode, end on delivery; $nruns runs"
echo "recv_stale: ok"
