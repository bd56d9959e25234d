# Two real btrsendd on loopback btrfs, real TLS: the receiving daemon is
# down for several runs of a job (`every 2s`, keep-source { hourly 1 },
# no keep-target).  Two older local snapshots the target never had are
# not sent: with nothing in common only the newest goes, in full.  While
# the receiver is down:
#  * the run fails and is retried with growing delays (the parent's
#    "retry N of M in Ss" lines);
#  * keep-source goes on pruning (a dead target must not fill the source
#    disk): hourly 1 keeps the newest, and the base the target held at
#    its last contact stays too, nothing else (issue 18);
#  * a retry takes no new snapshot: it sends the one its run took again
#    (the run and its retries leave exactly one new snapshot, although
#    the source changed between them).
# When it is back, the next retry delivers that snapshot, incremental
# from the base (sender log and Parent UUID on the target), equal to its
# source when taken (treecmp against a read-only copy, as keep-source
# prunes the original once the target has it) and received from it
# (received uuid); then keep-source leaves only it on the source.
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
		fail "outage attempt $fails: $n local snapshots [$(ls "$SRC/snaps" | tr '\n' ' ')], expected the base and the run's one"
	if [ $fails = 1 ]; then
		piled=$(ls "$SRC/snaps" | grep -vx "$base")
		# Its content when taken, and its uuid: keep-source prunes the
		# original once the target holds it.
		btrfs -q subvolume snapshot -r "$SRC/snaps/$piled" "$SRC/ref/$piled"
		subvol_uuid "$SRC/snaps/$piled" > "$d/uuid.$piled"
	fi
	[ "$(ls "$SRC/snaps" | grep -vx "$base")" = "$piled" ] ||
		fail "outage attempt $fails: the retry took a new snapshot: [$(ls "$SRC/snaps" | tr '\n' ' ')]"
	[ -d "$area/$piled" ] && fail "$piled reached the target while it was down"
done
grep -q "job home: target backup did not say what it holds: pruning by keep-source, keeping its last known base $base" "$d/send.log" ||
	fail "no 'last known base' line while the target was down"
[ "$(grep -c "job home: run ok" "$d/send.log")" = 2 ] || fail "a run succeeded while the target was down"
grep -q "job home: retry: sending snapshot $piled again, no new snapshot" "$d/send.log" ||
	fail "no 'sending again' line for the retry: $(grep "job home: run" "$d/send.log" | tail -5)"

# Growing delays: each retry waits longer than the one before.
grep "job home: run did not complete:.*retry [0-9]* of [0-9]* in [0-9]*s" "$d/send.log" |
	sed -E 's/.*retry ([0-9]+) of [0-9]+ in ([0-9]+)s.*/\1 \2/' > "$d/retries"
awk 'NR > 1 && ($1 != pa + 1 || $2 <= pd) { bad = 1 } { pa = $1; pd = $2 }
     END { exit bad || NR < 2 }' "$d/retries" ||
	fail "retry delays do not grow: $(cat "$d/retries" | tr '\n' ' ')"

net_start_receiver "$d/recv.conf" "$d/recv.log" 2
rpid=$NET_RECV_PID
scenario_mutate "$SRC/src" $((round + 1))
kill -CONT $spid
net_wait_sender "job home: run ok" 3 60	# the second retry, 20 s after its failure
net_pause_sender
grep -q "job home: run ok: snapshot $piled," "$d/send.log" ||
	fail "the retry did not deliver the run's snapshot $piled: $(grep "run ok" "$d/send.log" | tail -1)"
made=$(ls "$SRC/snaps")
[ "$made" = "$piled" ] ||
	fail "after the catch-up the source holds [$(echo $made)], expected only $piled"

# The run's one snapshot arrived, incremental from the base.
got=$area/$piled
[ -d "$got" ] || fail "catch-up: $piled missing on the target: $(grep ": sent \|missing" "$d/send.log")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/ref/$piled" "$got" || fail "catch-up: $piled differs from its source"
[ "$(btrfs property get -ts "$got" ro)" = "ro=true" ] || fail "catch-up: $piled not read-only"
[ "$(subvol_field "$got" "Received UUID")" = "$(cat "$d/uuid.$piled")" ] ||
	fail "catch-up: $piled received uuid $(subvol_field "$got" "Received UUID"), source $(cat "$d/uuid.$piled")"
[ "$(subvol_field "$got" "Parent UUID")" = "$base_uuid" ] ||
	fail "catch-up: $piled was not made from $base on the target"
grep -q ": sent $piled to backup, incremental from $base\$" "$d/send.log" ||
	fail "catch-up: $piled not sent incrementally from $base: $(grep ": sent $piled " "$d/send.log")"
grep -q "job home: target backup: 1 missing, 1 sent: $piled" "$d/send.log" ||
	fail "no per-target report of 1 sent: $(grep "target backup:" "$d/send.log")"
[ "$(ls "$area" | sort)" = "$(printf '%s\n' $before $piled | sort)" ] ||
	fail "target holds [$(ls "$area" | tr '\n' ' ')]"
kill -CONT $spid
note "down for 3 attempts of one run: one snapshot, delivered from $base"
echo "daemon_target_down: ok"
