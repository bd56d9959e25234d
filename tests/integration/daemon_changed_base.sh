# A snapshot on the target changed after it was received (made writable
# with the raw ioctl, which keeps the received uuid, changed, made
# read-only again) no longer holds what its sender's snapshot holds, so
# BEGIN refuses it as a parent (not-found, a permanent error).  The
# receiver must not offer it in LIST either, or the daemon's sender picks
# it as the parent and the job fails permanently, every run.  Here the
# next run must succeed (a full send: nothing else is in common), equal to
# the source, and the receiver log names the snapshot it withheld.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_source

# setro PATH 0|1: the read-only flag by the raw ioctl (as libbtrfsutil
# does), which keeps the received uuid; `btrfs property set -f` drops it.
setro() {
	perl -e 'open(my $f, "<", $ARGV[0]) or die "$ARGV[0]: $!\n";
		ioctl($f, 0x4008941a, pack("Q", $ARGV[1] ? 2 : 0)) or
		die "BTRFS_IOC_SUBVOL_SETFLAGS $ARGV[0]: $!\n"' "$1" "$2" ||
		fail "set read-only=$2 on $1"
}

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_send_conf -s "$d/sstate" "$d/send.conf"
net_job_conf "$d/send.conf" "every 2s"
net_check_conf "$d/recv.conf" receiver
net_check_conf "$d/send.conf" sender
net_start_receiver "$d/recv.conf" "$d/recv.log" 1
net_start_sender "$d/send.conf" "$d/send.log"

net_wait_sender "job home: run ok" 1 30
net_pause_sender
s1=$(ls "$SRC/snaps" | sort | tail -n 1)
got=$DST/backup/laptop.test/home/$s1
check_received "$SRC/snaps/$s1" "$got"

# Change the received s1 on the target, keeping its received uuid.
setro "$got" 0
echo "changed on the target" > "$got/changed-on-target" ||
	fail "write into $got"
sync
setro "$got" 1
sync
[ -n "$(subvol_field "$got" "Received UUID" | tr -d -- '-')" ] ||
	fail "$got lost its received uuid: the test shows nothing"

scenario_mutate "$SRC/src" 1
nlog=$(wc -l < "$d/send.log")
kill -CONT "$NET_SEND_PID"
net_wait_sender "job home: run ok" 2 30
net_pause_sender
s2=$(ls "$SRC/snaps" | sort | tail -n 1)
[ "$s2" != "$s1" ] || fail "no new snapshot after run 2"
check_received "$SRC/snaps/$s2" "$DST/backup/laptop.test/home/$s2"
sent=$(tail -n +$((nlog + 1)) "$d/send.log" | grep -m1 ": sent $s2 to backup")
case $sent in
*"incremental from $s1"*) fail "sent from the changed $s1: $sent" ;;
"") fail "no send of $s2 logged: $(tail -10 "$d/send.log")" ;;
esac
grep -q "not offering .*/home/$s1 as a base: it was changed after it was received" \
	"$d/recv.log" || fail "receiver did not log withholding $s1: $(tail -10 "$d/recv.log")"
grep -q "permanent\|not held in this client" "$d/send.log" &&
	fail "sender saw a refusal: $(grep "permanent\|not held" "$d/send.log")"
# Sent again by name, s1 is answered complete (it holds what was sent
# then, changed since): nothing to receive, not a failure.
[ -d "$SRC/snaps/$s1" ] || fail "$s1 pruned locally: cannot send it again"
timeout 120 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
	--to backup "$SRC/snaps/$s1" > "$d/again.out" 2>&1 ||
	fail "sending the changed $s1 again failed: $(cat "$d/again.out")"
grep -q "$s1: the receiver already holds it" "$d/again.out" ||
	fail "the receiver did not answer complete: $(cat "$d/again.out")"
kill -CONT "$NET_SEND_PID"
note "$s2 sent in full past the changed $s1"
echo "daemon_changed_base: ok"
