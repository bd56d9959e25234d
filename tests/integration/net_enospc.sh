# A receiver that runs out of space (issue 16, finding 8): a 256 MiB
# receiving btrfs, most of it taken by a filler file, gets a stream of
# 96 MiB.  The worker must answer ERROR resource naming the full path
# (the sender retries: a temporary failure, not "apply", after which it
# would give up for good) and keep its partial.  Once the filler is
# gone, the next send resumes exactly where the worker's "kept for resume
# at command N, byte O" said (N: commands applied, the point LIST-REPLY
# and BEGIN-REPLY offer) and the snapshot arrives identical.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M 256M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_send_conf "$d/send.conf"
BTRSEND_CKPT_BYTES=$((8 << 20)) net_start_receiver "$d/recv.conf" "$d/recv.log"

net_source
dd if=/dev/urandom of="$SRC/src/big" bs=1M count=96 status=none
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"
# leave the receiver less data space than the stream needs
fallocate -l 130M "$DST/filler" 2>/dev/null ||
	dd if=/dev/zero of="$DST/filler" bs=1M count=130 status=none
btrfs filesystem sync "$DST"
avail=$(df -B1M --output=avail "$DST" | tail -1)
note "receiver: ${avail} MiB free for a 96 MiB stream"
[ "$avail" -lt 90 ] || fail "the filler left $avail MiB: the stream would fit"

timeout 120 "$CTL" send -f "$d/send.conf" --job home --retries 1 \
	--to backup "$SRC/snaps/$snap" > "$d/out" 2> "$d/err" &&
	fail "a 96 MiB stream fit into $avail MiB: $(cat "$d/err")"
cat "$d/err" >&2
jobdir=$DST/backup/laptop.test/home
state=$jobdir/.btrsend-partial.$snap.state
# every worker logs its partial after its ERROR (and linger)
for i in $(seq 100); do
	w=$(grep -c "laptop.test: receiving home/$snap" "$d/recv.log")
	k=$(grep -c "partial $snap \(kept for resume\|cannot be resumed\)" "$d/recv.log")
	[ "$w" -ge 1 ] && [ "$k" -ge "$w" ] && break
	sleep 0.1
done
grep "laptop.test: " "$d/recv.log" | tail -6 >&2

# all checks first, so that a failing run shows every difference
bad=()
grep -q "peer reports resource error: the backup host is out of space on $jobdir (.*No space left on device); the transfer resumes once space is freed there" "$d/err" ||
	bad+=("the sender was not told the backup host is out of space")
grep -q "send: retrying in 1 s (1 of 1)" "$d/err" ||
	bad+=("out of space is no temporary failure: the sender did not retry")
grep -q "giving up on .*/$snap after 2 attempts" "$d/err" ||
	bad+=("the sender did not give up after its one retry")
[ -f "$state" ] || bad+=("no partial kept: $(ls -a "$jobdir" 2>&1)")
line=$(grep "partial $snap kept for resume at command" "$d/recv.log" | tail -1)
n=$(sed -n 's/.* at command \([0-9]*\), byte \([0-9]*\)$/\1/p' <<< "$line")
o=$(sed -n 's/.* at command \([0-9]*\), byte \([0-9]*\)$/\2/p' <<< "$line")
ck_n=$(awk '$1 == "ncmds" { print $2 }' "$state" 2>/dev/null)
ck_o=$(awk '$1 == "offset" { print $2 }' "$state" 2>/dev/null)

# space freed: the next send resumes and completes identical
rm -f "$DST/filler"
btrfs filesystem sync "$DST"
timeout 120 "$CTL" send -f "$d/send.conf" --job home --retries 2 \
	--to backup "$SRC/snaps/$snap" > "$d/out2" 2> "$d/err2" ||
	fail "send after freeing space: $(cat "$d/err2") / receiver: $(tail -5 "$d/recv.log")"
cat "$d/out2" >&2
r=$(sed -n 's/.*: resuming at command \([0-9]*\), byte \([0-9]*\)$/\1 \2/p' "$d/out2" | tail -1)
note "kept partial: logged at command $n, byte $o; state file ncmds $ck_n, offset $ck_o; resumed at ${r:-nothing}"
[ -n "$r" ] || bad+=("the transfer did not resume")
# the log's position is the one the receiver then offers (LIST-REPLY, BEGIN-REPLY)
[ -n "$n" ] && [ "$n $o" = "$r" ] ||
	bad+=("logged 'kept for resume at command $n, byte $o' but the resume started at '$r'")
check_received "$SRC/snaps/$snap" "$jobdir/$snap"
[ ${#bad[@]} -eq 0 ] || fail "$(printf '%s; ' "${bad[@]}")"
echo "out of space: resource error, retried, partial at the logged point, resumed identical: ok"
