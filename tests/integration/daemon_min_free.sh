# min-free (issue 18, "Never fill the source disk"): on a small btrfs
# filled so that less is free than a job's min-free, a run first prunes
# by keep-source (two old snapshots beyond hourly 1), then, still short,
# takes no snapshot, fails with the "disk space" error naming the free
# space, the snapshot-dir, min-free and what pruning freed, and runs
# on-failure with it.  A job on the same filesystem whose min-free is met
# snapshots as usual.
. "$(dirname "$0")/../lib/common.sh"

fixture_init
btrfs_fs FS 256M
S=$(scratch_dir)
for j in full roomy; do
	btrfs -q subvolume create "$FS/$j"
	mkdir "$FS/snaps-$j"
done
# Fill: ~100 MiB of data, so that about 130 MiB stay free of 256 MiB.
dd if=/dev/urandom of="$FS/full/data" bs=1M count=100 status=none
sync
old=
for ago in 3 2 1; do
	n=full.$(date -u -d "$ago days ago" +%Y%m%dT%H%M%SZ)
	btrfs -q subvolume snapshot -r "$FS/full" "$FS/snaps-full/$n"
	old="$old $n"
done
newest=$n
free=$(($(stat -f -c %a "$FS") * $(stat -f -c %S "$FS")))
[ "$free" -lt $((200 << 20)) ] || fail "the filesystem has $free bytes free, not under 200 MiB"

cat > "$S/hook.sh" <<EOC
#!/bin/sh
echo "\$JOB|\$SNAPSHOT|\$ERROR" >> $S/hook.log
EOC
chmod +x "$S/hook.sh"
cat > "$S/btrsend.conf" <<EOC
state-dir $S/state
min-free 200M
job full {
    source       $FS/full
    snapshot-dir $FS/snaps-full
    schedule     every 1h
    keep-source  { hourly 1 }
    on-failure   "$S/hook.sh"
}
job roomy {
    source       $FS/roomy
    snapshot-dir $FS/snaps-roomy
    schedule     every 1h
    min-free     1M
}
EOC
"$BTRSENDD" -n -v -f "$S/btrsend.conf" > "$S/printed" 2>&1 || fail "config: $(cat "$S/printed")"
grep -qx "min-free 200M" "$S/printed" || fail "-nv does not print the top-level min-free: $(cat "$S/printed")"
grep -qx "	min-free 1M" "$S/printed" || fail "-nv does not print the job's min-free"
[ "$(grep -cx "	min-free 200M" "$S/printed")" = 1 ] || fail "-nv does not print the inherited min-free"

"$BTRSENDD" -d -v -f "$S/btrsend.conf" 2> "$S/daemon.log" &
pid=$!
fixture_track_pid $pid
for i in $(seq 600); do
	[ -s "$S/hook.log" ] && grep -q "job roomy: run ok" "$S/daemon.log" && break
	sleep 0.1
done
[ -s "$S/hook.log" ] || { cat "$S/daemon.log" >&2; fail "no on-failure hook"; }
grep -q "job roomy: run ok" "$S/daemon.log" || fail "the roomy job did not run ok: $(grep roomy "$S/daemon.log")"
[ "$(ls "$FS/snaps-roomy" | wc -l)" = 1 ] || fail "the roomy job made no snapshot"

# Pruned first: only the newest old snapshot is left, and nothing new.
[ "$(ls "$FS/snaps-full")" = "$newest" ] ||
	fail "snaps-full holds [$(ls "$FS/snaps-full" | tr '\n' ' ')], expected only $newest"
grep -qE "job full: disk space: [0-9.]+ MiB free on $FS/snaps-full, min-free is 200 MiB: pruning by keep-source before snapshotting" "$S/daemon.log" ||
	fail "no 'pruning first' line: $(grep "job full" "$S/daemon.log")"
msg="disk space: [0-9.]+ MiB free on $FS/snaps-full, min-free is 200 MiB; pruning by keep-source freed 2 snapshots; not snapshotting"
grep -qE "job full: run failed: $msg" "$S/daemon.log" ||
	fail "no disk space failure: $(grep "job full" "$S/daemon.log")"
grep -qE "^full\|\|$msg" "$S/hook.log" || fail "on-failure environment: $(cat "$S/hook.log")"
grep -qE "^full - [0-9]+ [0-9]+ failed $msg" "$S/state/state" || fail "state file: $(cat "$S/state/state")"
kill -TERM $pid
wait $pid 2>/dev/null || true
echo "daemon_min_free: ok"
