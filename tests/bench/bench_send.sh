# btrsendctl send -o vs btrfs send -f of the same 1 GiB snapshot, same
# run, outputs on /dev/shm.  Caches are warmed by one untimed send first;
# then the two alternate, ROUNDS times each; the best time of each counts.
#   BENCH_SIZE_MB (default 1024)  ROUNDS (default 5)  PROTO (default 1)
. "$(dirname "$0")/../lib/common.sh"
fixture_init
size_mb=${BENCH_SIZE_MB:-1024}
rounds=${ROUNDS:-5}
proto=${PROTO:-1}
btrfs_fs A $((size_mb * 2 + 512))M

btrfs -q subvolume create "$A/src"
# Mostly big incompressible files, plus a few thousand small ones.
big=$((size_mb - 16))
for i in $(seq 1 8); do
	head -c $((big / 8))M /dev/urandom > "$A/src/big$i"
done
mkdir "$A/src/small"
for i in $(seq 1 4000); do head -c 4096 /dev/urandom > "$A/src/small/f$i"; done
btrfs -q subvolume snapshot -r "$A/src" "$A/snap"
sync

x=/dev/shm/btrsend-bench-x.$$
y=/dev/shm/btrsend-bench-y.$$
trap 'rm -f "$x" "$y"; fixture_cleanup' EXIT
btrfs -q send --proto $proto -f "$y" "$A/snap" || fail "warm-up send"

now() { date +%s.%N; }
calc() { awk "BEGIN { print $1 }"; }
best_ours=999999 best_progs=999999
for r in $(seq 1 "$rounds"); do
	rm -f "$x" "$y"
	t0=$(now); "$CTL" send --proto $proto -o "$x" "$A/snap" || fail "btrsendctl send"
	t1=$(now); btrfs -q send --proto $proto -f "$y" "$A/snap" || fail "btrfs send"
	t2=$(now)
	ours=$(calc "$t1 - $t0"); progs=$(calc "$t2 - $t1")
	echo "round $r: btrsendctl ${ours}s  btrfs send ${progs}s"
	[ "$(calc "$ours < $best_ours")" = 1 ] && best_ours=$ours
	[ "$(calc "$progs < $best_progs")" = 1 ] && best_progs=$progs
done
cmp "$x" "$y" || fail "outputs differ"
bytes=$(stat -c %s "$x")
echo "stream: $bytes bytes, proto $proto"
printf 'best: btrsendctl %.3fs (%.0f MiB/s)  btrfs send %.3fs (%.0f MiB/s)  ratio %.2f (btrsendctl/btrfs time)\n' \
	"$best_ours" "$(calc "$bytes / 1048576 / $best_ours")" \
	"$best_progs" "$(calc "$bytes / 1048576 / $best_progs")" \
	"$(calc "$best_ours / $best_progs")"
