# Two real btrsendd on loopback btrfs, real TLS: the receiving daemon is
# down for several runs of a job (`every 2s`, keep-source { hourly 1 },
# no keep-target).  Two older local snapshots the target never had are
# not sent: with nothing in common only the newest goes, in full.  While
# the receiver is down:
#  * each run fails and is retried with growing delays (the parent's
#    "retry N of M in Ss" lines);
#  * keep-source goes on pruning (a dead target must not fill the source
#    disk): hourly 1 keeps the newest, and the base the target held at
#    its last contact stays too, nothing else (issue 18);
# When it is back, the next retry catches up: the target receives every
# snapshot left meanwhile, oldest first, each incremental from the one
# before (sender log and Parent UUID on the target), each equal to its
# source (treecmp against a read-only copy, as keep-source prunes the
# originals once the target has them) and received from it (received
# uuid); then keep-source leaves only the newest on the source.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_source
mkdir "$SRC/ref"
# Two older snapshots the target never had: with nothing in common the
# first run sends only its own snapshot, in full (docs/architecture.md).
for ago in 2 1; do
	btrfs -q subvolume snapshot -r "$SRC/src" \
		"$SRC/snaps/home.$(date -u -d "$ago days ago" +%Y%m%dT%H%M%SZ)"
done

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_send_conf -s "$d/sstate" "$d/send.conf"
net_job_conf "$d/send.conf" "every 2s" "keep-source  { hourly 1 }"
net_check_conf "$d/recv.conf" receiver
net_check_conf "$d/send.conf" sender

area=$DST/backup/laptop.test/home

net_start_receiver "$d/recv.conf" "$d/recv.log" 1
rpid=$NET_RECV_PID
net_start_sender "$d/send.conf" "$d/send.log"
spid=$NET_SEND_PID

# Two good runs; the second's snapshot is the base the target keeps.
net_wait_sender "job home: run ok" 1 30
net_pause_sender
first=$(ls "$SRC/snaps" | sort | tail -n 1)
[ "$(ls "$area")" = "$first" ] || fail "first run: target holds [$(ls "$area" | tr '\n' ' ')], expected only $first"
grep -q ": sent $first to backup, full\$" "$d/send.log" || fail "first run: $first not sent in full"
grep -q "job home: target backup holds none of this job's 3 snapshots" "$d/send.log" ||
	fail "first run: no 'holds none' line"
[ "$(ls "$SRC/snaps")" = "$first" ] || fail "first run: keep-source left [$(ls "$SRC/snaps" | tr '\n' ' ')]"
scenario_mutate "$SRC/src" 1
kill -CONT $spid
net_wait_sender "job home: run ok" 2 30
net_pause_sender
base=$(ls "$SRC/snaps")
[ "$(echo "$base" | wc -l)" = 1 ] || fail "hourly 1 left [$(echo $base)] before the outage"
[ -d "$area/$base" ] || fail "base $base not on the target"
base_uuid=$(subvol_uuid "$area/$base")
before=$(ls "$area")

kill -TERM $rpid
wait $rpid 2>/dev/null || true
round=1
for fails in 1 2; do
	round=$((round + 1))
	scenario_mutate "$SRC/src" $round
	kill -CONT $spid
	net_wait_sender "job home: run did not complete" $fails 60
	net_pause_sender
	[ -d "$SRC/snaps/$base" ] || fail "outage run $fails: the target's base $base was pruned"
	n=$(ls "$SRC/snaps" | wc -l)
	[ "$n" = 2 ] ||
		fail "outage run $fails: [$(ls "$SRC/snaps" | tr '\n' ' ')] local snapshots, expected the base and the newest"
done
grep -q "job home: target backup did not say what it holds: pruning by keep-source, keeping its last known base $base" "$d/send.log" ||
	fail "no 'last known base' line while the target was down"
[ "$(grep -c "job home: run ok" "$d/send.log")" = 2 ] || fail "a run succeeded while the target was down"

# Growing delays: each retry waits longer than the one before.
grep "job home: run did not complete:.*retry [0-9]* of [0-9]* in [0-9]*s" "$d/send.log" |
	sed -E 's/.*retry ([0-9]+) of [0-9]+ in ([0-9]+)s.*/\1 \2/' > "$d/retries"
awk 'NR > 1 && ($1 != pa + 1 || $2 <= pd) { bad = 1 } { pa = $1; pd = $2 }
     END { exit bad || NR < 2 }' "$d/retries" ||
	fail "retry delays do not grow: $(cat "$d/retries" | tr '\n' ' ')"

# What is left: a read-only copy of each (keep-source prunes the
# originals once the target holds them) and its uuid.
piled=$(ls "$SRC/snaps" | grep -vx "$base")
for p in $piled; do
	btrfs -q subvolume snapshot -r "$SRC/snaps/$p" "$SRC/ref/$p"
	subvol_uuid "$SRC/snaps/$p" > "$d/uuid.$p"
	[ -d "$area/$p" ] && fail "$p reached the target while it was down"
done

net_start_receiver "$d/recv.conf" "$d/recv.log" 2
rpid=$NET_RECV_PID
scenario_mutate "$SRC/src" $((round + 1))
kill -CONT $spid
net_wait_sender "job home: run ok" 3 60	# the second retry, 20 s after its failure
net_pause_sender
made=$(ls "$SRC/snaps")
[ "$(echo "$made" | wc -l)" = 1 ] ||
	fail "after the catch-up keep-source left [$(echo $made)], expected only the newest"
btrfs -q subvolume snapshot -r "$SRC/snaps/$made" "$SRC/ref/$made"
subvol_uuid "$SRC/snaps/$made" > "$d/uuid.$made"

# Every snapshot newer than the base arrived, in order, along the chain.
prev=$base prev_uuid=$base_uuid
for p in $piled $made; do
	got=$area/$p
	[ -d "$got" ] || fail "catch-up: $p missing on the target: $(grep ": sent \|missing" "$d/send.log")"
	"$TOOLS/treecmp" --ignore-root-times "$SRC/ref/$p" "$got" || fail "catch-up: $p differs from its source"
	[ "$(btrfs property get -ts "$got" ro)" = "ro=true" ] || fail "catch-up: $p not read-only"
	[ "$(subvol_field "$got" "Received UUID")" = "$(cat "$d/uuid.$p")" ] ||
		fail "catch-up: $p received uuid $(subvol_field "$got" "Received UUID"), source $(cat "$d/uuid.$p")"
	[ "$(subvol_field "$got" "Parent UUID")" = "$prev_uuid" ] ||
		fail "catch-up: $p was not made from $prev on the target"
	grep -q ": sent $p to backup, incremental from $prev\$" "$d/send.log" ||
		fail "catch-up: $p not sent incrementally from $prev: $(grep ": sent $p " "$d/send.log")"
	prev=$p prev_uuid=$(subvol_uuid "$got")
done
npiled=$(echo $piled $made | wc -w)
grep -q "job home: target backup: $npiled missing, $npiled sent: " "$d/send.log" ||
	fail "no per-target report of $npiled sent: $(grep "target backup:" "$d/send.log")"
[ "$(ls "$area" | sort)" = "$(printf '%s\n' $before $piled $made | sort)" ] ||
	fail "target holds [$(ls "$area" | tr '\n' ' ')]"
kill -CONT $spid
note "down for 2 runs, caught up with $npiled snapshots from $base"
echo "daemon_target_down: ok"
