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
trap 'rm -f "$x"* "$y"*; fixture_cleanup' EXIT
btrfs -q send --proto $proto -f "$y" "$A/snap" || fail "warm-up send"

calc() { awk "BEGIN { print $1 }"; }
# run FILE CMD...: wall, user+sys (the ioctl thread's kernel time included)
run() {
	local f=$1 TIMEFORMAT='%R %U %S'
	shift
	{ time "$@" 2> "$f.err"; } 2> "$f.time" || fail "$*: $(cat "$f.err")"
	awk '{ print $1, $2 + $3 }' "$f.time"
}
best_ours=999999 best_progs=999999 cpu_ours=0 cpu_progs=0
for r in $(seq 1 "$rounds"); do
	rm -f "$x" "$y"
	read -r ours c1 < <(run "$x" "$CTL" send --proto $proto -o "$x" "$A/snap")
	read -r progs c2 < <(run "$y" btrfs -q send --proto $proto -f "$y" "$A/snap")
	echo "round $r: btrsendctl ${ours}s (cpu ${c1}s)  btrfs send ${progs}s (cpu ${c2}s)"
	[ "$(calc "$ours < $best_ours")" = 1 ] && best_ours=$ours
	[ "$(calc "$progs < $best_progs")" = 1 ] && best_progs=$progs
	cpu_ours=$(calc "$cpu_ours + $c1"); cpu_progs=$(calc "$cpu_progs + $c2")
done
cmp "$x" "$y" || fail "outputs differ"
bytes=$(stat -c %s "$x")
echo "stream: $bytes bytes, proto $proto, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'best wall: btrsendctl %.3fs (%.0f MiB/s)  btrfs send %.3fs (%.0f MiB/s)  ratio %.2f (btrsendctl/btrfs)\n' \
	"$best_ours" "$(calc "$bytes / 1048576 / $best_ours")" \
	"$best_progs" "$(calc "$bytes / 1048576 / $best_progs")" \
	"$(calc "$best_ours / $best_progs")"
printf 'mean cpu (user+sys, both threads): btrsendctl %.3fs  btrfs send %.3fs  ratio %.2f\n' \
	"$(calc "$cpu_ours / $rounds")" "$(calc "$cpu_progs / $rounds")" \
	"$(calc "$cpu_ours / $cpu_progs")"
