# /metrics of a real sending btrsendd (metrics listen) replicating to a
# real receiving btrsendd over TLS.  The page is read with a strict
# parser of the Prometheus text format (tests/lib/promcheck.py; Debian's
# promtool comes only with the whole Prometheus server).  Checked:
#  - before and during the first, rate-limited run: configured series at
#    0, then one transfer in progress with done bytes and an estimated
#    total within 10% of the stream `btrfs send` makes;
#  - after it: ok 1, bytes equal to that `btrfs send` stream size (and to
#    what the history file records), last success time within the run,
#    snapshots 1 on each side, nothing in progress;
#  - a reload to a short schedule, through a proxy that cuts the first
#    connection, makes more runs: the cut transfer resumes; ok counts,
#    bytes and resumes equal the history's, last success moves forward;
#  - after a restart the counters start at 0 again but the last success
#    time comes back from the history; other paths are 404, POST and an
#    oversized header are refused, an idle connection blocks nothing.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
fixture_init
net_fixture d 512M
PROM="/usr/bin/python3 $TOP/tests/lib/promcheck.py"
[ -x /usr/bin/python3 ] || skip "python3 missing (make deps)"
btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
"$TOOLS/gen" metrics:big $((12 * 1024 * 1024)) > "$SRC/src/big"
mkdir "$SRC/src/dir"
for i in $(seq 50); do echo "file $i" > "$SRC/src/dir/f$i"; done

mport=$((NET_PORT + 1))
net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
send_conf() {	# send_conf SCHEDULE [PORT]
	net_send_conf -s "$d/sstate" -p "${2:-$NET_PORT}" "$d/send.conf" "bandwidth 3M"
	echo "metrics listen 127.0.0.1:$mport" >> "$d/send.conf"
	net_job_conf "$d/send.conf" "$1" "protocol     1"
}
send_conf "every 1h"
# checkpoints every MB, so that a cut transfer resumes
BTRSEND_CKPT_BYTES=1000000 net_start_receiver "$d/recv.conf" "$d/recv.log"

start_sender() {
	net_start_sender "$d/send.conf" "$d/send.log"
	spid=$NET_SEND_PID
}

scrape() {	# scrape FILE: GET /metrics, checked by the strict reader
	curl -sS -f -m 5 -D "$1.hdr" -o "$1" "http://127.0.0.1:$mport/metrics" ||
		fail "GET /metrics: $(tail -5 "$d/send.log")"
	grep -qi '^content-type: text/plain; version=0.0.4' "$1.hdr" ||
		fail "content type: $(cat "$1.hdr")"
	$PROM "$1" > /dev/null || fail "not Prometheus text: $(cat "$1")"
}

q() {	# q FILE SERIES: its value, or "absent"
	$PROM "$1" "$2"
}

J='job="home",target="backup"'

t0=$(date +%s)
start_sender
for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$mport/metrics" && break; sleep 0.1; done

# During the first run (12 MiB at 3 MiB/s): in progress, with a total.
seen=
for i in $(seq 400); do	# the first run waits up to the schedule's jitter
	scrape "$d/m"
	[ "$(q "$d/m" "btrsend_transfers_total{$J,result=\"ok\"}")" = 0 ] ||
		{ [ -n "$seen" ] && break; fail "the first run ended before it was seen in progress"; }
	if [ "$(q "$d/m" btrsend_transfers_in_progress)" = 1 ] &&
	   [ "$(q "$d/m" "btrsend_transfer_total_bytes{$J,source=\"estimate\"}")" != absent ] &&
	   [ "$(q "$d/m" "btrsend_transfer_done_bytes{$J}")" -gt 0 ]; then
		seen=$(q "$d/m" "btrsend_transfer_total_bytes{$J,source=\"estimate\"}")
		cp "$d/m" "$d/m.during"
		break
	fi
	sleep 0.1
done
[ -n "$seen" ] || fail "no transfer in progress with an estimated total seen: $(cat "$d/m")"
[ "$(q "$d/m.during" btrsend_runs_in_progress)" = 1 ] || fail "runs in progress: $(cat "$d/m.during")"
[ "$(q "$d/m.during" "btrsend_transferred_bytes_total{$J}")" = 0 ] || fail "bytes before the end"

net_wait_sender "job home: run ok" 1 60
t1=$(date +%s)
s1=$(ls "$SRC/snaps")
size1=$(btrfs -q send "$SRC/snaps/$s1" | wc -c)
awk -v e="$seen" -v t="$size1" 'BEGIN { r = e / t; exit !(r > 0.9 && r < 1.1) }' ||
	fail "estimated total $seen, stream $size1"
for i in $(seq 50); do	# the worker's exit is reaped just after the log line
	scrape "$d/m"
	[ "$(q "$d/m" btrsend_runs_in_progress)" = 0 ] && break
	sleep 0.1
done
[ "$(q "$d/m" "btrsend_transfers_total{$J,result=\"ok\"}")" = 1 ] || fail "ok: $(cat "$d/m")"
[ "$(q "$d/m" "btrsend_transfers_total{$J,result=\"retry\"}")" = 0 ] || fail "retry: $(cat "$d/m")"
[ "$(q "$d/m" "btrsend_transfers_total{$J,result=\"failed\"}")" = 0 ] || fail "failed: $(cat "$d/m")"
got=$(q "$d/m" "btrsend_transferred_bytes_total{$J}")
[ "$got" = "$size1" ] || fail "transferred bytes $got, btrfs send stream $size1"
hist=$(awk -v s="$s1" '$4 == "ok" && $8 == "backup" && $9 == s { print $5 }' "$d/sstate/history")
[ "$hist" = "$size1" ] || fail "history says $hist bytes for $s1: $(cat "$d/sstate/history")"
[ "$(q "$d/m" "btrsend_resumes_total{$J}")" = 0 ] || fail "resumes: $(cat "$d/m")"
last1=$(q "$d/m" "btrsend_last_success_timestamp_seconds{$J}")
[ "$last1" -ge "$t0" ] && [ "$last1" -le "$t1" ] || fail "last success $last1 not in [$t0, $t1]"
[ "$(q "$d/m" 'btrsend_snapshots{job="home",side="source"}')" = 1 ] || fail "source snapshots: $(cat "$d/m")"
[ "$(q "$d/m" "btrsend_snapshots{$J,side=\"target\"}")" = 1 ] || fail "target snapshots: $(cat "$d/m")"
[ "$(q "$d/m" btrsend_transfers_in_progress)" = 0 ] || fail "still in progress: $(cat "$d/m")"
[ "$(q "$d/m" 'btrsend_build_info{version="0.1.0"}')" = 1 ] || fail "build info: $(cat "$d/m")"
# the parent logs progress: the start of the transfer, then now and then
grep -q "job home: run [0-9]*: send $s1 to backup: [0-9]* bytes of [0-9]* (estimate, [0-9]*%)" "$d/send.log" ||
	fail "no progress line in the log: $(grep "job home" "$d/send.log")"

# More runs: reload to a short schedule, then back; compare with history.
# A run first asks the target what it holds on a connection of its own
# (daemon/worker/jobrun.c); the second connection is the transfer, cut once.
net_start_proxy "$d/proxy" -c 999999999,4000000 -T 300
"$TOOLS/gen" metrics:big2 $((8 * 1024 * 1024)) > "$SRC/src/big2"
sleep 1	# a later second than the first run's end
send_conf "every 2s" "$NET_PROXY_PORT"
kill -HUP $spid
net_wait_sender "job home: run ok" 2 60
send_conf "every 1h"
kill -HUP $spid
for i in $(seq 300); do	# no worker left
	ps -o stat= --ppid $spid | grep -qv '^Z' || break
	sleep 0.1
done
sleep 0.5
scrape "$d/m2"
runs=$(grep -c "job home: run ok" "$d/send.log")
hbytes=$(awk '$4 == "ok" && $8 == "backup" { s += $5 } END { print s }' "$d/sstate/history")
hres=$(awk '$8 == "backup" { s += $6 } END { print s }' "$d/sstate/history")
[ "$(q "$d/m2" "btrsend_transfers_total{$J,result=\"ok\"}")" = "$runs" ] ||
	fail "ok $(q "$d/m2" "btrsend_transfers_total{$J,result=\"ok\"}") after $runs runs"
[ "$(q "$d/m2" "btrsend_transferred_bytes_total{$J}")" = "$hbytes" ] ||
	fail "bytes $(q "$d/m2" "btrsend_transferred_bytes_total{$J}"), history $hbytes"
s2=$(ls "$SRC/snaps" | sort | sed -n 2p)
size2=$(btrfs -q send -p "$SRC/snaps/$s1" "$SRC/snaps/$s2" | wc -c)
# the cut: more bytes than the stream, one resume
read -r b2 r2 < <(awk -v s="$s2" -v p="$s1" '$4 == "ok" && $8 == "backup" && $9 == s && $10 == p { print $5, $6 }' "$d/sstate/history")
[ "${r2:-0}" -ge 1 ] && [ "$b2" -ge "$size2" ] ||
	fail "history: $s2 from $s1 ($size2 bytes) not resumed or short: $(cat "$d/sstate/history") / $(grep -i "resum\|cut\|retry" "$d/send.log")"
[ "$hres" -ge 1 ] && [ "$(q "$d/m2" "btrsend_resumes_total{$J}")" = "$hres" ] ||
	fail "resumes $(q "$d/m2" "btrsend_resumes_total{$J}"), history $hres"
last2=$(q "$d/m2" "btrsend_last_success_timestamp_seconds{$J}")
[ "$last2" -gt "$last1" ] || fail "last success did not move: $last1 -> $last2"
[ "$(q "$d/m2" 'btrsend_snapshots{job="home",side="source"}')" = "$runs" ] ||
	fail "source snapshots after $runs runs: $(cat "$d/m2")"

# 404 elsewhere, and a restart keeps the last success, not the counters.
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/nope")
[ "$code" = 404 ] || fail "GET /nope: $code"
# Bounded, and never blocking the parent: an idle half-open request and
# an oversized header do not stop the next scrape.
exec 3<>"/dev/tcp/127.0.0.1/$mport"
printf 'GET /metrics HTTP/1.1\r\n' >&3
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' x)" \
	"http://127.0.0.1:$mport/metrics")
[ "$code" != 200 ] || fail "a 20 kB header was accepted"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$mport/metrics")
[ "$code" != 200 ] || fail "POST /metrics was served"
scrape "$d/m2b"
exec 3>&-
kill -TERM $spid
wait $spid 2>/dev/null
start_sender
for i in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$mport/metrics" && break; sleep 0.1; done
scrape "$d/m3"
[ "$(q "$d/m3" "btrsend_transfers_total{$J,result=\"ok\"}")" = 0 ] || fail "counters after restart: $(cat "$d/m3")"
[ "$(q "$d/m3" "btrsend_last_success_timestamp_seconds{$J}")" = "$last2" ] ||
	fail "last success after restart: $(cat "$d/m3")"
note "first run $size1 bytes (estimate $seen), $runs runs, $hbytes bytes in all, $hres resumes; $s2: stream $size2, sent $b2"
echo "metrics: ok"
