# A transfer carries the subvolume its BEGIN announced, and nothing is
# finished before END is checked (issue 16, finding 7).  A raw client
# (tlspeer -S: real TLS, frames made by hand) sends real `btrfs send`
# streams:
#  1. a stream of two subvolumes (btrfs send A B) announcing A: refused
#     at B's SNAPSHOT/SUBVOL; neither A nor B lands at its final name;
#  2. BEGIN announcing another ctransid than the stream's SUBVOL: refused
#     before anything is applied;
#  3. END with a wrong digest: refused; the snapshot is not finished (no
#     final name, no received uuid anywhere), its partial is discarded;
#  4. the same stream with the right END then lands, identical.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_start_receiver_new "$d/recv.conf" "$d/recv.log"
log=$d/recv.log.new
area=$DST/backup/laptop.test

peer() { NET_PEER_SECS=60 net_peer "$@"; }

net_source
a=home.20260101T000000Z
b=home.20260102T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$a"
echo more > "$SRC/src/more"
snap_ro "$SRC/src" "$SRC/snaps/$b"
btrfs send -q -f "$d/two" "$SRC/snaps/$a" "$SRC/snaps/$b" ||
	fail "btrfs send of two"
btrfs send -q -f "$d/one" "$SRC/snaps/$a" || fail "btrfs send"
ctransid=$(btrfs subvolume show "$SRC/snaps/$a" |
	sed -n 's/^[[:space:]]*Generation:[[:space:]]*//p')

bad=()
# 1. two subvolumes behind one BEGIN
peer -S "$d/two" -J two > "$d/1.out" 2>&1
cat "$d/1.out" >&2
grep -q "refused: peer reports denied error: command [0-9]* (s[a-z]*): a second subvolume in one transfer; it carries only the subvolume '$a' its BEGIN announced" "$d/1.out" ||
	bad+=("two subvolumes: not refused as such: $(cat "$d/1.out")")
[ -e "$area/two/$b" ] && bad+=("two subvolumes: the unannounced $b was created")
[ -e "$area/two/$a" ] && bad+=("two subvolumes: $a was finished before END")

# 2. another ctransid announced
peer -S "$d/one" -J ctransid -T $((ctransid + 1000)) > "$d/2.out" 2>&1
cat "$d/2.out" >&2
grep -q "refused: peer reports denied error: command 0: the stream does not create the announced subvolume '$a': its subvolume has another ctransid" "$d/2.out" ||
	bad+=("ctransid: not refused: $(cat "$d/2.out")")
[ -z "$(ls -A "$area/ctransid" 2>/dev/null)" ] ||
	bad+=("ctransid: something was applied: $(ls -A "$area/ctransid")")

# 3. END's digest differs
peer -S "$d/one" -J digest -Z > "$d/3.out" 2>&1
cat "$d/3.out" >&2
grep -q "refused: peer reports stream error: end of digest/$a: the sender's totals .* differ from what was applied .*; the snapshot was not finished and its partial is DISCARDED" "$d/3.out" ||
	bad+=("digest: not refused: $(cat "$d/3.out")")
[ -e "$area/digest/$a" ] && bad+=("digest: $a was finished before END was checked")
for i in $(seq 50); do
	grep -q "end of digest/$a" "$log" && break
	sleep 0.1
done
sleep 0.5	# the worker's exit, after its ERROR
left=$(ls -A "$area/digest" 2>/dev/null | grep -v '\.progress$' || true)
[ -z "$left" ] || bad+=("digest: partial not discarded: $left")
subs=$(btrfs subvolume list "$DST" | awk '{print $NF}' | grep "/digest/" || true)
[ -z "$subs" ] || bad+=("digest: subvolumes left: $subs")
[ ${#bad[@]} -eq 0 ] || fail "$(printf '%s; ' "${bad[@]}")"

# 4. the right END: it lands
peer -S "$d/one" -J digest > "$d/4.out" 2>&1 ||
	fail "good stream after the refusals: $(cat "$d/4.out") / $(tail -5 "$log")"
grep -q "^done laptop.test/digest/$a" "$d/4.out" || fail "4: $(cat "$d/4.out")"
check_received "$SRC/snaps/$a" "$area/digest/$a"
echo "unannounced subvolumes refused, END checked before finishing: ok"
