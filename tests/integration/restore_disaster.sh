# Back in service after a disaster, the recipe of README and btrsendd(8),
# end to end with the daemon: the job home runs twice (full, then
# incremental); then its source and snapshot-dir are gone;
#   btrsendctl restore --from backup --job home latest SNAPDIR
# brings the newest snapshot back (equal to the backup host's copy,
# read-only, received), `btrfs subvolume snapshot SNAPDIR/<name> SOURCE`
# makes the source writable again, and after a small change the job's
# next run sends incrementally from the restored snapshot (the daemon's
# log names it; the bytes through the proxy are a fraction of the
# source's size), and on the backup host the new snapshot is a snapshot
# of the previous one: the chain continues.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
. "$TOP/tests/lib/restore.sh"
fixture_init
net_fixture d 1G
sock=$d/ctl.sock
net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_start_receiver "$d/recv.conf" "$d/recv.log"
net_start_proxy "$d/proxy" -T 300
net_send_conf -s "$d/sstate" -p "$NET_PROXY_PORT" "$d/send.conf"
echo "control { socket $sock }" >> "$d/send.conf"
net_job_conf "$d/send.conf" manual
net_check_conf "$d/send.conf" sender

net_source small
"$TOOLS/gen" "1:restore-disaster" $((32 << 20)) > "$SRC/src/big" || fail "gen"
net_start_sender "$d/send.conf" "$d/send.log"
area=$DST/backup/laptop.test/home

# run N: trigger the job, wait for its N-th "run ok".
run() {
	local i
	for i in $(seq 50); do
		"$CTL" run -s "$sock" home > /dev/null 2>&1 && break
		sleep 0.1
	done
	net_wait_sender "job home: run ok" "$1" 60
}
run 1
scenario_mutate "$SRC/src" 1
sleep 1	# snapshot names have a resolution of one second
run 2
newest=$(ls "$SRC/snaps" | sort | tail -1)
[ "$(ls "$area" | sort | tail -1)" = "$newest" ] || fail "the target lacks $newest: $(ls "$area")"

# The disaster: the daemon stops, source and snapshot-dir are gone.
kill -TERM "$NET_SEND_PID"
wait "$NET_SEND_PID" 2>/dev/null
for s in "$SRC"/snaps/*; do btrfs -q subvolume delete "$s" || fail "delete $s"; done
btrfs -q subvolume delete "$SRC/src" || fail "delete source"
rmdir "$SRC/snaps"
mkdir "$SRC/snaps"

# The recipe.
RS_DIR=$d RS_CONF=$d/send.conf RS_OUT=$d/restore.out RS_ERR=$d/restore.err
rs_restore latest "$SRC/snaps"
[ "$(ls "$SRC/snaps")" = "$newest" ] || fail "restore latest gave $(ls "$SRC/snaps"), want $newest"
"$TOOLS/treecmp" --holes --ignore-root-times "$area/$newest" "$SRC/snaps/$newest" ||
	fail "the restored $newest differs from the backup host's copy"
[ "$(btrfs property get -ts "$SRC/snaps/$newest" ro)" = "ro=true" ] || fail "restored snapshot writable"
[ "$(subvol_field "$SRC/snaps/$newest" "Received UUID")" = "$(subvol_field "$area/$newest" "Received UUID")" ] ||
	fail "the restored snapshot's received uuid is not the backup copy's"
btrfs -q subvolume snapshot "$SRC/snaps/$newest" "$SRC/src" || fail "snapshot back to the source"
echo "after the disaster" > "$SRC/src/new-file"

# Back in service: the next run is incremental from the restored one.
before=$(awk '$1 == "c2s" { print $2 }' "$d/proxy.count")
net_start_sender "$d/send.conf" "$d/send.log"
oks=$(grep -c "job home: run ok" "$d/send.log")
sleep 1
run $((oks + 1))
next=$(ls "$SRC/snaps" | sort | tail -1)
[ "$next" != "$newest" ] || fail "no new snapshot was taken"
grep "sent $next to backup" "$d/send.log" >&2 || fail "no send of $next logged: $(tail -5 "$d/send.log")"
grep -q "sent $next to backup, incremental from $newest\$" "$d/send.log" ||
	fail "the run after the restore was not incremental from $newest: $(grep "sent $next" "$d/send.log")"
sleep 0.5
bytes=$(( $(awk '$1 == "c2s" { print $2 }' "$d/proxy.count") - before ))
note "the run after the restore sent $bytes bytes"
[ "$bytes" -lt $((4 << 20)) ] || fail "the run after the restore sent $bytes bytes: not just the difference"
[ "$(subvol_field "$area/$next" "Parent UUID")" = "$(subvol_uuid "$area/$newest")" ] ||
	fail "on the target $next is no snapshot of $newest: the chain is broken"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$next" "$area/$next" || fail "$next differs on the target"
echo "disaster recipe: restore latest, snapshot back, next run incremental: ok"
