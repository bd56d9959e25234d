# keep-source never deletes a snapshot a transfer is using.  Two real
# btrsendd with real TLS, the sender's target behind tests/lib/faultproxy
# (connections counted from 1).  Run 1 sends B.  Then two snapshots P1 and
# P2 are taken by hand (P2 with 16 MiB of new data), and run 2 must send
# P1, P2 and its own snapshot M2: its connections are LIST (3), P1 (4),
# P2 (5, 6, 7: the first attempt and the worker's two retries), each P2
# connection cut after 1.5 MB, so the run fails with a partial of P2 on
# the target.  keep-source { hourly 1 } then keeps exactly P1 (the newest
# the target holds), P2 (in use: its partial resumes next run) and M2
# (just taken); B, no longer the base, goes.  The parent's retry (run 3)
# resumes P2 (sender log) and sends M2 along the chain (a retry takes no
# snapshot of its own); P2 on the target equals its source and carries
# its uuid.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_source
mkdir "$SRC/ref"

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
BTRSEND_CKPT_BYTES=$((512 << 10)) net_start_receiver "$d/recv.conf" "$d/recv.log"
big=999999999
net_start_proxy "$d/proxy" -c $big,$big,$big,$big,1500000,1500000,1500000 -T 300
net_send_conf -s "$d/sstate" -p "$NET_PROXY_PORT" "$d/send.conf"
net_job_conf "$d/send.conf" "every 2s" "keep-source  { hourly 1 }"
net_check_conf "$d/send.conf" sender
area=$DST/backup/laptop.test/home

net_start_sender "$d/send.conf" "$d/send.log"
spid=$NET_SEND_PID

net_wait_sender "job home: run ok" 1 30
net_pause_sender
b=$(ls "$SRC/snaps")
[ -d "$area/$b" ] || fail "run 1 did not send $b"
grep -q "conns 2" "$d/proxy.count" || fail "run 1 did not use 2 connections: $(cat "$d/proxy.count")"

# P1 and P2, named in the second after B and the one after that; the
# next run's snapshot comes later (the sender stays paused meanwhile).
t=$(date -u -d "$(echo "$b" | sed -E 's/^home\.([0-9]{8})T([0-9]{2})([0-9]{2})([0-9]{2})Z/\1 \2:\3:\4/')" +%s)
p1=home.$(date -u -d "@$((t + 1))" +%Y%m%dT%H%M%SZ)
p2=home.$(date -u -d "@$((t + 2))" +%Y%m%dT%H%M%SZ)
scenario_mutate "$SRC/src" 1
btrfs -q subvolume snapshot -r "$SRC/src" "$SRC/snaps/$p1"
dd if=/dev/urandom of="$SRC/src/big" bs=1M count=16 status=none
btrfs -q subvolume snapshot -r "$SRC/src" "$SRC/snaps/$p2"
btrfs -q subvolume snapshot -r "$SRC/snaps/$p2" "$SRC/ref/$p2"
p2_uuid=$(subvol_uuid "$SRC/snaps/$p2")
sleep 3
scenario_mutate "$SRC/src" 2
kill -CONT $spid

net_wait_sender "job home: run did not complete" 1 60
net_pause_sender
m2=$(ls "$SRC/snaps" | sort | tail -n 1)
[ "$m2" != "$p2" ] || fail "run 2 made no snapshot"
grep -q "conns 7" "$d/proxy.count" || fail "run 2 did not use connections 3..7: $(cat "$d/proxy.count")"
grep -q ": sent $p1 to backup, incremental from $b\$" "$d/send.log" || fail "run 2 did not send $p1 from $b"
[ -d "$area/$p2" ] && fail "$p2 arrived despite the cuts"
ls -A "$area" | grep -q "$p2" || fail "no partial of $p2 on the target: $(ls -A "$area" | tr '\n' ' ')"
want=$(printf '%s\n' "$p1" "$p2" "$m2" | sort)
[ "$(ls "$SRC/snaps" | sort)" = "$want" ] ||
	fail "after the failed run the source holds [$(ls "$SRC/snaps" | tr '\n' ' ')], expected [$(echo $want)]"

kill -CONT $spid
net_wait_sender "job home: run ok" 2 60	# the parent's retry, 10 s later
net_pause_sender
grep -q "$p2: resuming at command [1-9]" "$d/send.log" ||
	fail "$p2 was not resumed: $(grep "$p2" "$d/send.log")"
for s in $p2 $m2; do
	[ -d "$area/$s" ] || fail "$s missing on the target after the retry"
done
grep -q ": sent $p2 to backup, incremental from $p1\$" "$d/send.log" || fail "$p2 not incremental from $p1"
grep -q ": sent $m2 to backup, incremental from $p2\$" "$d/send.log" || fail "$m2 not incremental from $p2"
"$TOOLS/treecmp" --ignore-root-times "$SRC/ref/$p2" "$area/$p2" || fail "$p2 differs from its source"
[ "$(subvol_field "$area/$p2" "Received UUID")" = "$p2_uuid" ] || fail "$p2: wrong received uuid"
kill -CONT $spid
echo "daemon_inflight_pin: ok"
