# decompress_extent() reproduces what the kernel compressed: files on real
# btrfs mounted with compress-force=zlib / zstd / lzo are sent with
# `btrfs send --proto 2 --compressed-data`; every ENCODED_WRITE's DATA is
# decompressed by our code and compared with the snapshot's bytes at that
# file range (tests/lib/encoded_extract.c).  BENCH=1 also prints the
# decompression throughput per algorithm.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
[ -x "$TOOLS/encoded_extract" ] || fail "$TOOLS/encoded_extract missing (make integration)"
s=$(scratch_dir)

# Compressible but varied: numbered lines with random bytes sprinkled in.
gen() {  # gen SEED BYTES
	{
		seq -f "line %g of seed $1: the btrfs compressed extent test" 1 200000 |
			awk -v s="$1" 'NR % 97 == 0 { srand(s + NR); printf "%c%c", 33 + int(rand() * 90), 33 + int(rand() * 90) } { print }'
	} | head -c "$2"
}

populate() {  # populate DIR
	local d=$1
	gen 1 3145728 > "$d/big"                  # many full 128 KiB extents
	gen 2 200000 > "$d/tail"                  # last extent ends mid-sector
	gen 3 3000 > "$d/small"                   # inline compressed extent
	gen 4 524288 > "$d/over"
	sync
	# Overwrite inside an extent: the rest is sent as pieces of the old
	# extent, with UNENCODED_OFFSET > 0 and UNENCODED_FILE_LEN < UNENCODED_LEN.
	gen 5 8192 | dd of="$d/over" bs=4096 seek=25 conv=notrunc status=none
	mkdir "$d/dir with space"
	gen 6 300000 > "$d/dir with space/f"
	sync
}

# Many LZO segments of varied size, so that some segment headers would
# straddle a sector boundary and must move to the next one (about 3 in
# 4096 headers do).
lzo_many() {  # lzo_many FILE
	awk 'BEGIN { srand(7); for (i = 0; i < 1300000; i++)
		printf "rec %d val %08x %x name%d\n", i, int(rand() * 2^31),
		    int(rand() * 2^20), int(rand() * 50) }' | head -c 48M > "$1"
	sync
}

for alg in zlib zstd lzo; do
	btrfs_fs FS 512M "compress-force=$alg"
	btrfs subvolume create "$FS/vol" >/dev/null || fail "$alg: subvolume create"
	populate "$FS/vol"
	[ $alg = lzo ] && lzo_many "$FS/vol/many"
	btrfs subvolume snapshot -r "$FS/vol" "$FS/snap" >/dev/null || fail "$alg: snapshot"
	btrfs send -q --proto 2 --compressed-data -f "$s/$alg.stream" "$FS/snap" ||
		fail "$alg: btrfs send"
	out=$("$TOOLS/encoded_extract" ${BENCH:+-b} "$s/$alg.stream" "$FS/snap") ||
		fail "$alg: decompressed data differs from the files (see above)"
	note "$alg: $out"
	out=$(echo "$out" | head -n 1)
	set -- $out
	# encoded_writes N zlib N zstd N lzo N bytes N inside_extent N partial N
	# lzo_pad N
	n=$2 inside=${12} partial=${14} pads=${16}
	case $alg in
	zlib) mine=$4 ;; zstd) mine=$6 ;; lzo) mine=$8 ;;
	esac
	[ "$n" -ge 25 ] || fail "$alg: only $n encoded writes; is compression on?"
	[ "$mine" = "$n" ] || fail "$alg: $mine of $n writes use $alg"
	[ "$inside" -ge 1 ] || fail "$alg: no write started inside its extent"
	[ "$partial" -ge 1 ] || fail "$alg: no write covered part of an extent"
	[ "${10}" -ge 3000000 ] || fail "$alg: only ${10} bytes checked"
	if [ $alg = lzo ] && [ "$pads" -lt 1 ]; then
		fail "lzo: no segment header was moved to a sector boundary"
	fi
done
echo "decompress_kernel: ok"
