# Out of space before the first byte (issue 16, finding 8): when the
# receiver cannot make the client's area (root/CLIENT) or the job
# directory (root/CLIENT/JOB) because its filesystem is full or over
# quota, the sender is told the same temporary resource error as when
# applying runs out of space (net_enospc.sh): "the backup host is out of
# space on ROOT/CLIENT[/JOB] (...)", and retries, instead of an internal
# or apply error after which it gives up.  A btrfs qgroup limit below
# what the receiving filesystem already uses makes mkdir fail (EDQUOT).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_send_conf "$d/send.conf"
net_start_receiver "$d/recv.conf" "$d/recv.log"

net_source
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"

full() {	# a quota below what the filesystem holds
	btrfs quota enable "$DST" || fail "quota enable $DST"
	dd if=/dev/zero of="$DST/filler.$1" bs=1M count=4 status=none
	btrfs filesystem sync "$DST"
	btrfs qgroup limit 1M "$DST" || fail "qgroup limit $DST"
}
# (lifting the limit is itself refused over quota: disable quotas)
room() { btrfs quota disable "$DST" || fail "quota disable $DST"; }
full 1

send() {	# send OUT: one retry
	timeout 120 "$CTL" send -f "$d/send.conf" --job home --retries 1 \
		--to backup "$SRC/snaps/$snap" > "$d/$1.out" 2> "$d/$1.err"
}
bad=()
check() {	# check OUT WHAT PATH
	grep -q "peer reports resource error: the backup host is out of space on $3 (cannot make the $2 directory: Disk quota exceeded); the transfer resumes once space is freed there" "$d/$1.err" ||
		bad+=("$2 directory: not a resource error naming $3: $(grep -i "error\|refus" "$d/$1.err" | head -3)")
	grep -q "send: retrying in 1 s (1 of 1)" "$d/$1.err" ||
		bad+=("$2 directory: the sender did not retry")
}

# the client's area
send area && fail "sent although the area cannot be made: $(cat "$d/area.err")"
cat "$d/area.err" >&2
check area "client's" "$DST/backup/laptop.test"

# the job directory, beneath an area made beforehand
room
mkdir -m 0700 "$DST/backup/laptop.test"
full 2
send job && fail "sent although the job directory cannot be made: $(cat "$d/job.err")"
cat "$d/job.err" >&2
check job job "$DST/backup/laptop.test/home"

# space back: the same send goes through
room
send ok || bad+=("send with space: $(tail -3 "$d/ok.err")")
[ ${#bad[@]} -eq 0 ] || fail "$(printf '%s; ' "${bad[@]}")"
check_received "$SRC/snaps/$snap" "$DST/backup/laptop.test/home/$snap"
echo "out of space making the area or the job directory: resource error, retried: ok"
