# A whole-snapshot restore cut twice by the fault proxy (counting the
# backup host's bytes) reconnects, resumes from the client's
# checkpoints and completes identical; the bytes from the backup host
# stay within those of an uncut restore (DATA may be compressed) plus,
# per cut, one checkpoint interval and what the sockets held in flight
# (the proxy counts bytes the client had not read yet: 4 MiB allowed).  Then a
# restore whose client is killed (kill -9) in the middle: the same
# command run again resumes (its bytes and the first try's stay within
# the same bound) and completes identical.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
. "$TOP/tests/lib/restore.sh"
fixture_init
rs_fixture d 1G
btrfs_fs R 1G
btrfs_fs W 1G	# holds the uncut restore: nothing related on R
ckpt=$((2 << 20))
inflight=$((4 << 20))
export BTRSEND_CKPT_BYTES=$ckpt

net_source small
"$TOOLS/gen" "1:restore-resume" $((40 << 20)) > "$SRC/src/big" || fail "gen"
s1=home.20260101T000000Z
rs_snap $s1
rs_send $s1
# What an uncut restore moves: the measure of the others.
net_start_proxy "$d/proxy0" -T 300
rs_conf "$d/proxy0.conf" "$NET_PROXY_PORT"
mkdir "$W/whole"
rs_restore -c "$d/proxy0.conf" $s1 "$W/whole"
stream=$(rs_bytes "$d/proxy0")
kill "${FIX_PIDS[-1]}"
check_received "$SRC/snaps/$s1" "$W/whole/$s1"
note "uncut: $stream bytes from the backup host, checkpoint every $ckpt"

# Two cuts, each after 35% of the stream on a connection (questions the
# client may ask on connections of their own first are never cut).
c=$((stream * 35 / 100))
net_start_proxy "$d/proxy" -S -c $c,$c,$c,$c,$c,$c -m 2 -T 300
rs_conf "$d/proxy.conf" "$NET_PROXY_PORT"
mkdir "$R/a"
rs_restore -c "$d/proxy.conf" $s1 "$R/a"
check_received "$SRC/snaps/$s1" "$R/a/$s1"
bytes=$(rs_bytes "$d/proxy")
cuts=$(awk '$1 == "cuts" { print $2 }' "$d/proxy.count")
[ "$cuts" = 2 ] || fail "the proxy made $cuts cuts, not 2"
bound=$((stream + cuts * (ckpt + inflight)))
note "cut twice: $bytes bytes from the backup host, bound $bound"
[ "$bytes" -le "$bound" ] || fail "resent too much: $bytes bytes for a $stream-byte stream, 2 cuts"
[ "$bytes" -ge "$stream" ] || fail "fewer bytes than uncut ($bytes < $stream)?"

# Killed in the middle: the proxy stalls the first connection for 8 s
# after 60% of the stream; the client dies then; the same command again
# (through the same proxy, once the stall is over) resumes.
stall=$((stream * 6 / 10))
net_start_proxy "$d/proxy2" -S -s $stall:8 -T 300
rs_conf "$d/proxy2.conf" "$NET_PROXY_PORT"
btrfs -q subvolume delete "$R/a/$s1" || fail "delete $R/a/$s1"	# no base for what follows
mkdir "$R/b"
# (no timeout(1) in between: the kill must reach btrsendctl itself)
"$CTL" restore -f "$d/proxy2.conf" --from backup --job home $s1 "$R/b" \
	> "$d/kill.out" 2>&1 &
client=$!
fixture_track_pid $client
sleep 4
kill -9 $client
wait $client 2>/dev/null
sleep 5	# the stall ends, the proxy sees the connection gone
[ -e "$R/b/$s1" ] && [ "$(btrfs property get -ts "$R/b/$s1" ro 2>/dev/null)" = "ro=true" ] &&
	fail "the restore finished before it was killed: the test proves nothing"
first=$(rs_bytes "$d/proxy2")
[ "$first" -ge "$stall" ] ||
	fail "the killed restore passed $first bytes, less than the $stall before the stall: the test proves nothing"
rs_restore -c "$d/proxy2.conf" $s1 "$R/b"
check_received "$SRC/snaps/$s1" "$R/b/$s1"
bytes=$(rs_bytes "$d/proxy2")
bound=$((stream + ckpt + inflight))
note "killed and run again: $bytes bytes from the backup host in both, bound $bound"
[ "$bytes" -le "$bound" ] || fail "the rerun did not resume: $bytes bytes in both runs, $stream uncut"
echo "restore resumes after cuts and after kill -9: ok"
