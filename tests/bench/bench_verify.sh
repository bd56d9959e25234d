# Throughput of `btrsendctl verify` against `btrfs receive --dump` (the
# fastest whole-stream check btrfs-progs has: it parses and CRC-checks
# every command) on the same >= 1 GiB kernel stream held in page cache,
# best of $BENCH_RUNS (3) each.  BENCH_MIB sets the data size (1126).
# Both run under SCHED_FIFO (BENCH_RT=0 disables) so that on a shared
# machine the wall time measures the program, not its neighbours.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
mib=${BENCH_MIB:-1126}
runs=${BENCH_RUNS:-3}
btrfs_fs A $((mib + 512))M
S=$(scratch_dir)

btrfs subvolume create "$A/sv" >/dev/null || fail "subvolume create"
# Incompressible and fast to make: AES-CTR keystream.
openssl enc -aes-128-ctr -nosalt -pass pass:btrsend -pbkdf2 -in /dev/zero 2>/dev/null |
	head -c $((mib * 1024 * 1024)) > "$A/sv/data" || fail "making data"
btrfs subvolume snapshot -r "$A/sv" "$A/snap" >/dev/null || fail "snapshot"
btrfs send -q -f "$S/stream" "$A/snap" || fail "btrfs send"
size=$(stat -c %s "$S/stream")
cat "$S/stream" > /dev/null     # tmpfs: already in memory; touch it anyway

"$CTL" verify -f "$S/stream" > /dev/null || fail "verify rejects the stream"

# best CMD...: "wall cpu" seconds, the smallest of $runs runs each.  CPU
# time (user + sys) is reported too: on a loaded machine wall time
# measures the neighbours as much as the program.
best() {
	local i out bw= bc= TIMEFORMAT='%3R %3U %3S'
	for i in $(seq 1 "$runs"); do
		out=$( { time "$@" > /dev/null 2>&1; } 2>&1 ) || fail "$*"
		read -r w u s <<< "$out"
		c=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
		bw=$(awk -v a="$w" -v b="${bw:-$w}" 'BEGIN { print (a < b) ? a : b }')
		bc=$(awk -v a="$c" -v b="${bc:-$c}" 'BEGIN { print (a < b) ? a : b }')
	done
	echo "$bw $bc"
}

rt=() sched=normal
if [ "${BENCH_RT:-1}" = 1 ] && chrt -f 10 true 2>/dev/null; then
	rt=(chrt -f 10) sched=SCHED_FIFO
fi
read -r vw vc <<< "$(best "${rt[@]}" "$CTL" verify -f "$S/stream")"
read -r dw dc <<< "$(best "${rt[@]}" btrfs receive --dump -f "$S/stream")"
# The read(2) path, as for a stream arriving on a pipe (cpu includes cat).
read -r pw pc <<< "$(best "${rt[@]}" sh -c 'cat "$1" | "$2" verify' _ "$S/stream" "$CTL")"
awk -v s="$size" -v vw="$vw" -v vc="$vc" -v dw="$dw" -v dc="$dc" -v n="$runs" \
    -v pw="$pw" -v pc="$pc" \
    -v load="$(cut -d' ' -f1 /proc/loadavg)" -v sched="$sched" 'BEGIN {
	printf "stream: %d bytes (%.2f GiB), best of %d, %s, load average %s\n", s, s / 2^30, n, sched, load
	printf "%-22s %8s %9s %8s %9s\n", "", "wall s", "GB/s", "cpu s", "GB/cpu-s"
	printf "%-22s %8.3f %9.2f %8.3f %9.2f\n", "btrsendctl verify", vw, s / vw / 1e9, vc, s / (vc > 0 ? vc : 0.001) / 1e9
	printf "%-22s %8.3f %9.2f %8.3f %9.2f\n", "btrfs receive --dump", dw, s / dw / 1e9, dc, s / (dc > 0 ? dc : 0.001) / 1e9
	printf "%-22s %8.3f %9.2f %8.3f %9.2f\n", "cat | verify (pipe)", pw, s / pw / 1e9, pc, s / (pc > 0 ? pc : 0.001) / 1e9
	printf "ratio (wall): verify is %.2fx as fast as receive --dump\n", dw / vw
}'
