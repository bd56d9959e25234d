# A worker that hangs (test hook BTRSENDD_TEST_HANG_JOB) is stopped when
# its timeout passes (BTRSENDD_TEST_WORKER_TIMEOUT=2), and its run is
# retried with backoff (first retry after 10 s); with max-transfers 1 the
# other job waits while the hung one holds the only slot, then runs.
. "$(dirname "$0")/../lib/common.sh"

fixture_init
btrfs_fs FS 256M
S=$(scratch_dir)
for j in hang quick; do
	btrfs -q subvolume create "$FS/$j"
	mkdir "$FS/snaps-$j"
done
cat > "$S/btrsend.conf" <<EOC
state-dir $S/state
max-transfers 1
job hang {
    source       $FS/hang
    snapshot-dir $FS/snaps-hang
    schedule     every 1s
}
job quick {
    source       $FS/quick
    snapshot-dir $FS/snaps-quick
    schedule     every 1s
}
EOC

BTRSENDD_TEST_HANG_JOB=hang BTRSENDD_TEST_WORKER_TIMEOUT=2 \
	"$BTRSENDD" -d -f "$S/btrsend.conf" 2> "$S/daemon.log" &
pid=$!
fixture_track_pid $pid

for i in $(seq 80); do
	grep -q 'job hang: run did not complete' "$S/daemon.log" && break
	sleep 0.1
done
grep -q 'job hang: worker [0-9]* timed out after [23]s, stopping it' \
	"$S/daemon.log" || { cat "$S/daemon.log" >&2; fail "no timeout"; }
grep -q 'job hang: run did not complete: worker killed by signal 15 .*(timed out); retry 1 of 6 in 10s' \
	"$S/daemon.log" || { cat "$S/daemon.log" >&2; fail "no retry with backoff"; }
grep -q 'job quick: due, waiting for one of 1 running jobs' "$S/daemon.log" ||
	{ cat "$S/daemon.log" >&2; fail "max-transfers 1 did not hold job quick back"; }
grep -q '^hang - [0-9]* [0-9]* retry ' "$S/state/state" ||
	fail "state: $(cat "$S/state/state")"

# The slot is free again: quick runs; hang waits for its backoff.
n=$(ls "$FS/snaps-quick" | wc -l)
sleep 2.5
[ "$(ls "$FS/snaps-quick" | wc -l)" -ge $((n + 2)) ] ||
	fail "job quick did not run after the hung worker was stopped"
[ "$(grep -c 'job hang: run started' "$S/daemon.log")" = 1 ] ||
	fail "job hang retried before its backoff"
[ -z "$(ls "$FS/snaps-hang")" ] || fail "hung run made a snapshot"
kill -0 $pid || fail "daemon died"
kill -TERM $pid
wait $pid || fail "exit $? after SIGTERM"
echo "daemon_timeout: ok"
