# `btrsendctl receive` against `btrfs receive` on the same kernel streams,
# in the same run, `sync` included in every timing:
#   metadata: >= 50,000 small files and symlinks (target: 1.25x or better)
#   data:     >= 1 GiB of incompressible data, v1 and v2 (target: >= 1x)
# Best wall time of $BENCH_RUNS (3) runs each, the two tools alternating;
# peak RSS from /usr/bin/time.  BENCH_MIB sets the data size (1100).
. "$(dirname "$0")/../lib/common.sh"
fixture_init
mib=${BENCH_MIB:-1100}
runs=${BENCH_RUNS:-3}
nfiles=${BENCH_FILES:-40000}
nlinks=${BENCH_LINKS:-15000}
[ -x /usr/bin/time ] || skip "/usr/bin/time missing (make deps: package time)"
btrfs_fs A $((mib + 1024))M
btrfs_fs R $((mib * 2 + 1024))M
S=$(scratch_dir)

# Metadata: small files (0..2000 bytes) and symlinks over 200 directories,
# each directory filled in turn, as an unpacked archive or a copy is.
btrfs -q subvolume create "$A/meta" >/dev/null || fail "subvolume create"
perl -e '
	my ($top, $nf, $nl) = @ARGV;
	for my $d (0 .. 199) { mkdir "$top/d$d" or die "mkdir: $!"; }
	for my $i (0 .. $nf - 1) {
		my $d = int($i * 200 / $nf);
		open(my $f, ">", "$top/d$d/f$i") or die "open: $!";
		print $f ("x" x (($i * 7919) % 2001));
		close($f);
	}
	for my $i (0 .. $nl - 1) {
		my $d = int($i * 200 / $nl);
		symlink("../d" . (($d + 1) % 200) . "/f$i", "$top/d$d/l$i") or die "symlink: $!";
	}' "$A/meta" "$nfiles" "$nlinks" || fail "making the metadata tree"
btrfs -q subvolume snapshot -r "$A/meta" "$A/meta.snap" >/dev/null || fail "snapshot"

# Data: incompressible (AES-CTR keystream) in files of 100 MiB.
btrfs -q subvolume create "$A/data" >/dev/null || fail "subvolume create"
left=$mib i=0
while [ "$left" -gt 0 ]; do
	n=$((left > 100 ? 100 : left))
	openssl enc -aes-128-ctr -nosalt -pass "pass:btrsend$i" -pbkdf2 \
	    -in /dev/zero 2>/dev/null | head -c $((n * 1024 * 1024)) > "$A/data/f$i" ||
		fail "making data"
	left=$((left - n)) i=$((i + 1))
done
btrfs -q subvolume snapshot -r "$A/data" "$A/data.snap" >/dev/null || fail "snapshot"

btrfs -q send -f "$S/meta.v1" "$A/meta.snap" || fail "send meta"
btrfs -q send -f "$S/data.v1" "$A/data.snap" || fail "send data v1"
btrfs -q send --proto 2 -f "$S/data.v2" "$A/data.snap" || fail "send data v2"
sync

# one TOOL STREAM SNAP: "wall_ms peak_rss_kib" of one receive into a
# fresh directory, sync included; what it received is removed after.
one() {
	local tool=$1 stream=$2 snap=$3 dir=$R/run rss t0 t1
	case $tool in
	ours)  set -- "$CTL" receive -q -f "$stream" "$dir" ;;
	progs) set -- btrfs receive -q -f "$stream" "$dir" ;;
	esac
	mkdir "$dir"
	sync
	t0=$(date +%s%N)
	/usr/bin/time -o "$S/rss" -f '%M' "$@" > /dev/null 2> "$S/err" ||
		{ cat "$S/err" >&2; fail "$tool receive of $stream"; }
	sync
	t1=$(date +%s%N)
	rss=$(cat "$S/rss")
	[ -d "$dir/$snap" ] || fail "$tool: $snap not received"
	btrfs -q subvolume delete "$dir/$snap" >/dev/null || fail "delete"
	rmdir "$dir"
	btrfs -q subvolume sync "$R" >/dev/null 2>&1
	sync
	echo "$(( (t1 - t0) / 1000000 )) $rss"
}

# bench NAME STREAM SNAP: best of $runs for each tool, alternating
bench() {
	local name=$1 i ob= pb= orss=0 prss=0 t r
	for i in $(seq 1 "$runs"); do
		read -r t r <<< "$(one ours "$2" "$3")"
		[ -z "$ob" ] || [ "$t" -lt "$ob" ] && ob=$t
		[ "$r" -gt "$orss" ] && orss=$r
		read -r t r <<< "$(one progs "$2" "$3")"
		[ -z "$pb" ] || [ "$t" -lt "$pb" ] && pb=$t
		[ "$r" -gt "$prss" ] && prss=$r
	done
	awk -v n="$name" -v s="$(stat -c %s "$2")" -v o="$ob" -v p="$pb" \
	    -v or="$orss" -v pr="$prss" 'BEGIN {
		printf "%-12s %7.1f MiB  btrsendctl %7.3f s (%6.1f MiB/s, rss %6.1f MiB)  btrfs receive %7.3f s (%6.1f MiB/s, rss %6.1f MiB)  ratio %.2fx\n",
		    n, s / 2^20, o / 1000, s / 2^20 / (o / 1000), or / 1024,
		    p / 1000, s / 2^20 / (p / 1000), pr / 1024, p / o
	}'
}

echo "receive benchmark: best of $runs, sync included, load average $(cut -d' ' -f1 /proc/loadavg)"
echo "metadata tree: $nfiles files + $nlinks symlinks in 200 directories; data: $mib MiB"
bench metadata-v1 "$S/meta.v1" meta.snap
bench data-v1 "$S/data.v1" data.snap
bench data-v2 "$S/data.v2" data.snap
