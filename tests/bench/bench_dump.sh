# `btrsendctl dump` against `btrfs receive --dump` on the same kernel
# streams (v1 and v2) of >= 1 GiB of data plus 20000 small files, held in
# memory, best of $BENCH_RUNS (3) each, output to /dev/null.  Both outputs
# must also be identical.  BENCH_MIB sets the data size (1126).
. "$(dirname "$0")/../lib/common.sh"
fixture_init
mib=${BENCH_MIB:-1126}
runs=${BENCH_RUNS:-3}
btrfs_fs A $((mib + 768))M
S=$(scratch_dir)

btrfs subvolume create "$A/sv" >/dev/null || fail "subvolume create"
openssl enc -aes-128-ctr -nosalt -pass pass:btrsend-dump -pbkdf2 -in /dev/zero 2>/dev/null |
	head -c $((mib * 1024 * 1024)) > "$A/sv/data" || fail "making data"
mkdir "$A/sv/small"
(cd "$A/sv/small" && seq 1 20000 | xargs touch) || fail "making small files"
btrfs subvolume snapshot -r "$A/sv" "$A/snap" >/dev/null || fail "snapshot"
btrfs send -q -f "$S/v1" "$A/snap" || fail "btrfs send"
btrfs send -q --proto 2 -f "$S/v2" "$A/snap" || fail "btrfs send --proto 2"

# best CMD...: "wall cpu" seconds, each the smallest of $runs runs.
best() {
	local i out w u s c bw= bc= TIMEFORMAT='%3R %3U %3S'
	for i in $(seq 1 "$runs"); do
		out=$( { time "$@" > /dev/null 2>&1; } 2>&1 ) || fail "$*"
		read -r w u s <<< "$out"
		c=$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')
		bw=$(awk -v a="$w" -v b="${bw:-$w}" 'BEGIN { print (a < b) ? a : b }')
		bc=$(awk -v a="$c" -v b="${bc:-$c}" 'BEGIN { print (a < b) ? a : b }')
	done
	echo "$bw $bc"
}

echo "best of $runs, load average $(cut -d' ' -f1 /proc/loadavg)"
printf '%-8s %14s %8s %-22s %8s %8s\n' stream bytes lines tool "wall s" "cpu s"
for v in v1 v2; do
	f=$S/$v
	cat "$f" > /dev/null
	"$CTL" dump -f "$f" > "$S/ours" || fail "dump $v"
	btrfs receive --dump -f "$f" > "$S/progs" || fail "receive --dump $v"
	cmp -s "$S/ours" "$S/progs" || fail "$v: outputs differ"
	lines=$(wc -l < "$S/ours")
	read -r ow oc <<< "$(best "$CTL" dump -f "$f")"
	read -r pw pc <<< "$(best btrfs receive --dump -f "$f")"
	printf '%-8s %14d %8d %-22s %8.3f %8.3f\n' "$v" "$(stat -c %s "$f")" \
		"$lines" "btrsendctl dump" "$ow" "$oc"
	printf '%-8s %14s %8s %-22s %8.3f %8.3f\n' "" "" "" \
		"btrfs receive --dump" "$pw" "$pc"
	awk -v o="$ow" -v p="$pw" 'BEGIN {
		printf "         dump is %.2fx as fast as receive --dump (wall)\n", p / o }'
done
