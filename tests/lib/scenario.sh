# Scenario generator: fills a btrfs subvolume with everything a send
# stream must carry, and mutates it in rounds for incremental sends.
# Source after tests/lib/common.sh.
#
#   scenario_populate DIR [small|medium|large]   (default medium)
#   scenario_mutate DIR ROUND                    (ROUND = 1, 2, 3, ...)
#   snap_ro SRC DST                              read-only snapshot
#
# File contents depend only on $SCENARIO_SEED (default 1), so a failure
# can be reproduced byte for byte.  Times and inode numbers are not
# deterministic.  The tools it uses (gen, mksock, clonerange) are built by
# `make` into $TOOLS.
#
# Size classes: small has 300 files in many/flat, medium 3000; large adds a
# 40 MiB random and a 24 MiB text file.  Everything else is the same.
# Top-level directories: files text sparse links symlinks special modes
# owners xattrs acl caps reflink names deep many empty, and mut, the only
# one scenario_mutate changes (so tests may rely on the others staying put).

SCENARIO_SEED=${SCENARIO_SEED:-1}

_sc_need_tools() {
	local t
	for t in gen mksock clonerange; do
		[ -x "$TOOLS/$t" ] || fail "scenario: $TOOLS/$t missing (make integration)"
	done
	for t in setfattr setfacl setcap fallocate mknod; do
		command -v "$t" >/dev/null || fail "scenario: $t not installed (make deps)"
	done
}

# _sc_rand FILE SIZE TAG: FILE gets SIZE pseudo-random bytes named by TAG.
_sc_rand() { "$TOOLS/gen" "$SCENARIO_SEED:$3" "$2" > "$1"; }

# _sc_text FILE SIZE TAG: compressible text (every codec shrinks it).
_sc_text() { "$TOOLS/gen" -t "$SCENARIO_SEED:$3" "$2" > "$1"; }

# _sc_put FILE OFFSET SIZE TAG [-t]: write into FILE at OFFSET, keep the rest.
_sc_put() {
	"$TOOLS/gen" ${5:-} "$SCENARIO_SEED:$4" "$3" |
		dd of="$1" bs=1M seek="$2" oflag=seek_bytes conv=notrunc \
		   iflag=fullblock status=none
}

# _sc_hex SIZE TAG: pseudo-random bytes as one hex string for setfattr.
_sc_hex() { printf '0x'; "$TOOLS/gen" "$SCENARIO_SEED:$2" "$1" | xxd -p | tr -d '\n'; }

_sc_files() {
	local d=$1/files s
	mkdir "$d"
	for s in 0 1 2 511 4095 4096 4097 8191 8193 12345 65535 65536 65537 \
		 131071 131072 131073 999999 1048576; do
		_sc_rand "$d/size-$s" "$s" "files/$s"
	done
	_sc_rand "$d/three-mib" $((3 * 1024 * 1024 + 17)) files/3m
	if [ "$2" = large ]; then
		_sc_rand "$d/large-random" $((40 * 1024 * 1024 + 5)) files/large
		_sc_text "$d/large-text" $((24 * 1024 * 1024 + 3)) files/largetext
	fi
}

# Compressible data large enough for compressed extents (128 KiB each).
_sc_text_files() {
	local d=$1/text
	mkdir "$d"
	_sc_text "$d/text-128k" 131072 text/128k
	_sc_text "$d/text-300001" 300001 text/300001
	_sc_text "$d/text-2m" $((2 * 1024 * 1024)) text/2m
	printf 'abcdefgh0123456789\n%.0s' $(seq 1 55556) > "$d/pattern-1m"
	truncate -s 1000000 "$d/pattern-1m"
	_sc_text "$d/small-inline" 3000 text/inline
	# The compression property travels as the xattr btrfs.compression.
	mkdir "$d/prop-zstd"
	btrfs -q property set "$d/prop-zstd" compression zstd
	_sc_text "$d/prop-zstd/inherits" 262144 text/prop-zstd
	: > "$d/prop-lzo"
	btrfs -q property set "$d/prop-lzo" compression lzo
	_sc_text "$d/prop-lzo" 262144 text/prop-lzo
	# Compressed extents next to random ones in the same file.
	_sc_rand "$d/mixed" 524288 text/mixed
	_sc_put "$d/mixed" 131072 262144 text/mixed-t -t
}

_sc_sparse() {
	local d=$1/sparse
	mkdir "$d"
	truncate -s 1048576 "$d/leading-hole"
	_sc_put "$d/leading-hole" 1048576 5000 sparse/lead
	_sc_rand "$d/middle-hole" 65536 sparse/mid1
	_sc_put "$d/middle-hole" 1114112 70000 sparse/mid2
	_sc_rand "$d/trailing-hole" 100000 sparse/trail
	truncate -s 3000000 "$d/trailing-hole"
	truncate -s $((16 * 1024 * 1024)) "$d/holes-only"
	truncate -s 4097 "$d/holes-only-small"
	: > "$d/many-holes"
	local i
	for i in 0 2 4 6 8 10 12 14; do
		_sc_put "$d/many-holes" $((i * 65536)) 4096 "sparse/many$i"
	done
	truncate -s $((17 * 65536 + 123)) "$d/many-holes"
	truncate -s 524288 "$d/text-holes"
	_sc_put "$d/text-holes" 131072 131072 sparse/th -t
	fallocate -l 262144 "$d/preallocated"
	_sc_put "$d/preallocated" 65536 4096 sparse/prealloc
}

_sc_links() {
	local d=$1/links
	mkdir -p "$d/a" "$d/b/deeper" "$d/c"
	_sc_rand "$d/a/orig" 20000 links/orig
	ln "$d/a/orig" "$d/b/link1"
	ln "$d/a/orig" "$d/b/deeper/link2"
	ln "$d/a/orig" "$d/c/link3"
	ln "$d/a/orig" "$d/link4"
	_sc_rand "$d/a/pair" 4096 links/pair
	ln "$d/a/pair" "$d/c/pair"
	: > "$d/c/empty-linked"
	ln "$d/c/empty-linked" "$d/a/empty-linked"
	mkfifo "$d/a/fifo"
	ln "$d/a/fifo" "$d/b/fifo-link"
	ln -s ../a/orig "$d/c/symlink"
	ln -P "$d/c/symlink" "$d/b/symlink-hardlink"
}

_sc_symlinks() {
	local d=$1/symlinks
	mkdir "$d"
	ln -s ../files/size-1 "$d/relative"
	ln -s /etc/passwd "$d/absolute"
	ln -s does/not/exist "$d/dangling"
	ln -s ../files "$d/to-dir"
	ln -s . "$d/to-self-dir"
	ln -s loop-b "$d/loop-a"
	ln -s loop-a "$d/loop-b"
	ln -s "$(printf 'x/%.0s' $(seq 1 500))end" "$d/long-target"
	ln -s $'odd \\ target\nwith newline' "$d/odd-target"
}

_sc_special() {
	local d=$1/special
	mkdir "$d"
	mkfifo "$d/fifo"
	mkfifo -m 0640 "$d/fifo-0640"
	(cd "$d" && "$TOOLS/mksock" sock sock2) || fail "scenario: mksock in $d"
	mknod "$d/chr-1-3" c 1 3
	mknod "$d/chr-259-1048575" c 259 1048575
	mknod "$d/chr-4095-1048575" c 4095 1048575
	mknod "$d/blk-8-1" b 8 1
	mknod "$d/blk-4095-0" b 4095 0
	mknod "$d/blk-259-65536" b 259 65536
}

_sc_modes() {
	local d=$1/modes m
	mkdir "$d"
	for m in 0000 0111 0123 0400 0444 0600 0644 0755 0777 1755 2755 4755 \
		 6755 7777 4711 2711; do
		_sc_rand "$d/file-$m" 100 "modes/$m"
		chmod "$m" "$d/file-$m"
	done
	for m in 0700 0711 1777 2775 3777 0555; do
		mkdir "$d/dir-$m"
		: > "$d/dir-$m/inside"
		chmod "$m" "$d/dir-$m"
	done
}

_sc_owners() {
	local d=$1/owners o
	mkdir "$d"
	for o in 0:0 1:1 2:3 1000:1000 1000:100 65534:65534 65535:65535 \
		 123456:654321 4294967294:4294967294 0:4294967294; do
		_sc_rand "$d/file-${o/:/-}" 10 "owners/$o"
		chown "$o" "$d/file-${o/:/-}"
	done
	mkdir "$d/dir-1000"
	chown 1000:1000 "$d/dir-1000"
	ln -s file-0-0 "$d/symlink-65534"
	chown -h 65534:65534 "$d/symlink-65534"
	mkfifo "$d/fifo-12345"
	chown 12345:54321 "$d/fifo-12345"
	# chown clears set-id bits, so chmod afterwards.
	_sc_rand "$d/suid-1000" 10 owners/suid
	chown 1000:1000 "$d/suid-1000"
	chmod 6755 "$d/suid-1000"
}

_sc_xattrs() {
	local d=$1/xattrs i
	mkdir -p "$d/dir"
	_sc_rand "$d/plain" 100 xattrs/plain
	setfattr -n user.text -v "hello world" "$d/plain"
	setfattr -n user.empty "$d/plain"
	setfattr -n user.binary -v 0x00ff000102fe00 "$d/plain"
	setfattr -n user.nul-only -v 0x0000 "$d/plain"
	: > "$d/large"
	setfattr -n user.large-3k -v "$(_sc_hex 3072 xattrs/3k)" "$d/large"
	setfattr -n user.large-8k -v "$(_sc_hex 8191 xattrs/8k)" "$d/large"
	: > "$d/largest"
	setfattr -n user.large-16k -v "$(_sc_hex 16000 xattrs/16k)" "$d/largest"
	: > "$d/many"
	for i in $(seq -w 1 120); do
		setfattr -n "user.attr-$i" -v "value-$i" "$d/many"
	done
	setfattr -n user.on-dir -v "dir value" "$d/dir"
	setfattr -n trusted.on-dir -v 0x0102 "$d/dir"
	ln -s plain "$d/symlink"
	# user.* is not allowed on symlinks; trusted.* is (for root).
	setfattr -h -n trusted.on-symlink -v "link value" "$d/symlink"
	mkfifo "$d/fifo"
	setfattr -n trusted.on-fifo -v "fifo value" "$d/fifo"
	setfattr -n "user.$(printf 'n%.0s' $(seq 1 200))" -v long-name "$d/plain"
}

_sc_acls() {
	local d=$1/acl
	mkdir -p "$d/default-dir"
	_sc_rand "$d/access" 10 acl/access
	setfacl -m u:1000:rwx,u:65534:r,g:100:rx,g:4294967294:w,m::rwx "$d/access"
	setfacl -m u:1000:rx "$d/default-dir"
	setfacl -d -m u:1000:rwx,g:100:r "$d/default-dir"
	_sc_rand "$d/default-dir/inherited" 10 acl/inherited
	mkdir "$d/default-dir/inherited-dir"
}

_sc_caps() {
	local d=$1/caps
	mkdir "$d"
	_sc_rand "$d/net-raw" 10 caps/raw
	setcap cap_net_raw+ep "$d/net-raw"
	_sc_rand "$d/many-caps" 10 caps/many
	setcap cap_net_admin,cap_sys_admin,cap_dac_override+eip "$d/many-caps"
	_sc_rand "$d/owned-caps" 10 caps/owned
	chown 1000:1000 "$d/owned-caps"
	chmod 0750 "$d/owned-caps"
	setcap cap_chown+p "$d/owned-caps"
}

_sc_reflinks() {
	local d=$1/reflink
	mkdir "$d"
	_sc_rand "$d/source" 1048576 reflink/src
	cp --reflink=always "$d/source" "$d/full-copy"
	"$TOOLS/clonerange" "$d/source" 262144 262144 "$d/partial" 0
	"$TOOLS/clonerange" "$d/source" 0 131072 "$d/partial" 524288
	_sc_put "$d/partial" 300000 1000 reflink/partial-ow
	"$TOOLS/clonerange" "$d/source" 65536 65536 "$d/source" 917504
	_sc_text "$d/text-source" 524288 reflink/text
	cp --reflink=always "$d/text-source" "$d/text-copy"
	"$TOOLS/clonerange" "$d/text-source" 131072 262144 "$d/text-partial" 131072
}

_sc_names() {
	local d=$1/names n
	mkdir "$d"
	for n in 'with space' ' leading space' 'trailing space ' $'new\nline' \
		 $'tab\there' "single'quote" 'double"quote' 'back\slash' \
		 'ünïcödé-日本語-😀' $'invalid-\xff\xfe-utf8' $'\x01ctrl\x7f' \
		 '-leading-dash' '--double-dash' '*star?' '[bracket]' '$dollar' \
		 '.hidden' '..double-dot' '...' '%percent%d' ':colon:'; do
		_sc_rand "$d/$n" 7 "names/$n"
	done
	n=$(printf 'L%.0s' $(seq 1 255))
	_sc_rand "$d/$n" 3 names/255
	mkdir "$d/dir with space" "$d/$(printf 'D%.0s' $(seq 1 255))"
	_sc_rand "$d/dir with space/$n" 5 names/255b
	ln -s "$n" "$d/$(printf 'S%.0s' $(seq 1 255))"
}

_sc_deep() {
	local d=$1/deep p i
	p=$d
	for i in $(seq -w 1 100); do
		p=$p/level-$i
	done
	mkdir -p "$p"
	_sc_rand "$p/bottom" 1000 deep/bottom
	ln -s ../../../../../.. "$p/up"
}

_sc_many() {
	local d=$1/many n=3000
	[ "$2" = small ] && n=300
	mkdir -p "$d/flat" "$d/tree"
	"$TOOLS/gen" -m "$n" "$SCENARIO_SEED:many" "$d/flat" || fail "scenario: gen -m"
	local i
	for i in $(seq 0 9); do
		mkdir "$d/tree/$i"
		"$TOOLS/gen" -m 20 "$SCENARIO_SEED:many$i" "$d/tree/$i" ||
			fail "scenario: gen -m"
	done
}

_sc_empty() {
	local d=$1/empty
	mkdir -p "$d/e1" "$d/e2/e3/e4" "$d/e5"
	: > "$d/e5/empty-file"
}

# The area scenario_mutate works on; every round finds what it needs.
_sc_mut_area() {
	local m=$1/mut i
	mkdir -p "$m/swap/a/sub" "$m/swap/b" "$m/cyc" "$m/nest/X/Y/Z" \
		 "$m/nest2/top/mid/bottom" "$m/type" "$m/del" "$m/emptydirs" \
		 "$m/data" "$m/hl/sub" "$m/x" "$m/own" "$m/gen.0/sub/subsub"
	_sc_rand "$m/swap/a/file" 5000 mut/swap-a
	_sc_rand "$m/swap/a/sub/f" 100 mut/swap-a-sub
	_sc_rand "$m/swap/b/file" 7000 mut/swap-b
	_sc_rand "$m/swap/fa" 300 mut/swap-fa
	_sc_rand "$m/swap/fb" 400 mut/swap-fb
	mkdir "$m/cyc/a" "$m/cyc/b"
	_sc_rand "$m/cyc/a/in-a" 10 mut/cyc-a
	_sc_rand "$m/cyc/b/in-b" 10 mut/cyc-b
	_sc_rand "$m/cyc/c" 10 mut/cyc-c
	_sc_rand "$m/nest/X/Y/Z/f" 10 mut/nest
	_sc_rand "$m/nest/X/fx" 10 mut/nest-x
	_sc_rand "$m/nest2/top/mid/bottom/f" 10 mut/nest2
	_sc_rand "$m/type/file-dir" 100 mut/t1
	_sc_rand "$m/type/file-symlink" 100 mut/t2
	mkfifo "$m/type/fifo-file"
	mkdir "$m/type/dir-symlink"
	for i in $(seq -w 1 12); do
		_sc_rand "$m/del/d$i" 1000 "mut/del$i"
		mkdir "$m/emptydirs/e$i"
	done
	_sc_rand "$m/data/overwrite" 1048576 mut/ow
	_sc_rand "$m/data/append" 10000 mut/app
	_sc_rand "$m/data/shrink" $((4 * 1024 * 1024)) mut/shrink
	_sc_rand "$m/data/grow" 50000 mut/grow
	_sc_rand "$m/data/punch" $((2 * 1024 * 1024)) mut/punch
	_sc_text "$m/data/punch-text" $((1024 * 1024)) mut/punch-text
	_sc_rand "$m/data/clone-target" 1048576 mut/clone-target
	_sc_rand "$m/hl/orig" 3000 mut/hl
	ln "$m/hl/orig" "$m/hl/l2"
	ln "$m/hl/orig" "$m/hl/sub/l3"
	_sc_rand "$m/x/file" 10 mut/x
	setfattr -n user.change -v 0 "$m/x/file"
	setfattr -n user.gone -v bye "$m/x/file"
	mkdir "$m/x/dir"
	setfattr -n user.dir -v 0 "$m/x/dir"
	_sc_rand "$m/own/file" 10 mut/own
	mkdir "$m/own/dir"
	mkdir "$m/repl"
	_sc_rand "$m/repl/target" 700 mut/repl-target
	_sc_rand "$m/repl/x" 70 mut/repl-x
	_sc_rand "$m/gen.0/sub/subsub/f" 5000 mut/gen0
	_sc_text "$m/gen.0/text" 200000 mut/gen0-text
	ln -s sub "$m/gen.0/link"
}

# Varied times, set last: creating entries changes their directory's mtime.
_sc_times() {
	local d=$1
	touch -h -d '1969-07-20 20:17:40.123456789' "$d/files/size-1"
	touch -h -d '1901-12-13 20:45:53' "$d/files/size-0"
	touch -h -d '1970-01-01 00:00:00' "$d/files/size-2"
	touch -h -d '1970-01-01 00:00:00.000000001' "$d/files/size-511"
	touch -h -d '2038-01-19 03:14:08.5' "$d/files/size-4095"
	touch -h -d '2106-02-07 06:28:16' "$d/files/size-4096"
	touch -h -d '2400-02-29 12:00:00.999999999' "$d/files/size-4097"
	touch -h -a -d '1999-12-31 23:59:59.999999999' "$d/files/size-8191"
	touch -h -m -d '2001-09-09 01:46:40.000000123' "$d/files/size-8191"
	touch -h -d '1950-06-01 00:00:00.5' "$d/symlinks/dangling"
	touch -h -d '2300-01-01' "$d/special/fifo" "$d/special/sock"
	touch -h -d '1960-01-01' "$d/special/chr-1-3"
	touch -h -d '2012-12-21 12:12:12.121212121' "$d/names/with space"
	touch -h -d '1969-12-31 23:59:59.999999999' "$d/empty/e1" "$d/files" \
		"$d/empty"
	touch -h -d '2222-02-02 02:02:02.020202020' "$d/names" "$d/special"
	touch -h -d '1980-01-01 00:00:00.1' "$d/xattrs/symlink" "$d/xattrs/dir"
}

scenario_populate() {
	local dir=$1 class=${2:-medium}
	case $class in small|medium|large) ;; *) fail "scenario: size class '$class'" ;; esac
	[ -d "$dir" ] || fail "scenario_populate: $dir is not a directory"
	_sc_need_tools
	# set -e works only outside && / || lists, hence the bare subshell.
	(
		set -eo pipefail
		_sc_files "$dir" "$class"; _sc_text_files "$dir"; _sc_sparse "$dir"
		_sc_links "$dir"; _sc_symlinks "$dir"; _sc_special "$dir"
		_sc_modes "$dir"; _sc_owners "$dir"; _sc_xattrs "$dir"
		_sc_acls "$dir"; _sc_caps "$dir"; _sc_reflinks "$dir"
		_sc_names "$dir"; _sc_deep "$dir"; _sc_many "$dir" "$class"
		_sc_empty "$dir"; _sc_mut_area "$dir"; _sc_times "$dir"
	)
	[ $? = 0 ] || fail "scenario_populate $dir failed (see the error above)"
}

_sc_toggle_types() {
	local t=$1/type r=$2
	if [ -d "$t/file-dir" ]; then
		rm -rf "$t/file-dir"
		_sc_rand "$t/file-dir" 100 "mut/t1.$r"
	else
		rm "$t/file-dir"
		mkdir "$t/file-dir"
		_sc_rand "$t/file-dir/inside" 10 "mut/t1d.$r"
	fi
	if [ -L "$t/file-symlink" ]; then
		rm "$t/file-symlink"
		_sc_rand "$t/file-symlink" 200 "mut/t2.$r"
	else
		rm "$t/file-symlink"
		ln -s "target-$r" "$t/file-symlink"
	fi
	if [ -p "$t/fifo-file" ]; then
		rm "$t/fifo-file"
		_sc_rand "$t/fifo-file" 50 "mut/t3.$r"
	else
		rm "$t/fifo-file"
		mkfifo "$t/fifo-file"
	fi
	if [ -L "$t/dir-symlink" ]; then
		rm "$t/dir-symlink"
		mkdir "$t/dir-symlink"
		_sc_rand "$t/dir-symlink/f" 10 "mut/t4.$r"
	else
		rm -rf "$t/dir-symlink"
		ln -s ../del "$t/dir-symlink"
	fi
}

_sc_subdir() { find "$1" -mindepth 1 -maxdepth 1 -type d -printf '%f\n'; }

# Directory renames the kernel must order with orphan names.
_sc_renames() {
	local m=$1 top mid low
	mv "$m/swap/a" "$m/swap/tmp" && mv "$m/swap/b" "$m/swap/a" &&
		mv "$m/swap/tmp" "$m/swap/b"
	mv "$m/swap/fa" "$m/swap/tmp" && mv "$m/swap/fb" "$m/swap/fa" &&
		mv "$m/swap/tmp" "$m/swap/fb"
	mv "$m/cyc/a" "$m/cyc/tmp" && mv "$m/cyc/c" "$m/cyc/a" &&
		mv "$m/cyc/b" "$m/cyc/c" && mv "$m/cyc/tmp" "$m/cyc/b"
	# X/Y becomes Y/X: a directory moves under its former child.
	if [ -d "$m/nest/X" ]; then
		mv "$m/nest/X/Y" "$m/nest/Y" && mv "$m/nest/X" "$m/nest/Y/X"
	else
		mv "$m/nest/Y/X" "$m/nest/X" && mv "$m/nest/Y" "$m/nest/X/Y"
	fi
	# top/mid/low becomes low/top/mid (each has one subdirectory).
	top=$(_sc_subdir "$m/nest2") && mid=$(_sc_subdir "$m/nest2/$top") &&
		low=$(_sc_subdir "$m/nest2/$top/$mid") &&
		mv "$m/nest2/$top/$mid/$low" "$m/nest2/$low" &&
		mv "$m/nest2/$top" "$m/nest2/$low/$top"
}

_sc_deletes() {
	local m=$1 r=$2 i
	# A directory leaves a subtree just before the subtree is deleted.
	rm -rf "$m/kept.$((r - 1))"
	mv "$m/gen.$((r - 1))/sub" "$m/kept.$r"
	rm -rf "$m/gen.$((r - 1))"
	i=$(printf '%02d' $(( (r - 1) % 12 + 1 )))
	if [ -e "$m/del/d$i" ]; then
		rm "$m/del/d$i"
	else
		_sc_rand "$m/del/d$i" 1000 "mut/del$i.$r"
	fi
	if [ -d "$m/emptydirs/e$i" ]; then
		rmdir "$m/emptydirs/e$i"
	else
		mkdir "$m/emptydirs/e$i"
	fi
}

_sc_data_changes() {
	local d=$1/data r=$2 size
	_sc_put "$d/overwrite" $(( (r * 37000) % 900000 )) 5000 "mut/ow.$r"
	"$TOOLS/gen" "$SCENARIO_SEED:mut/app.$r" $((r * 1000 + 7)) >> "$d/append"
	size=$(stat -c %s "$d/shrink")
	truncate -s $((size * 3 / 4 + 1)) "$d/shrink"
	truncate -s +200000 "$d/grow"
	_sc_put "$d/grow" $(stat -c %s "$d/grow") 3000 "mut/grow.$r"
	fallocate -p -o $(( (r % 8) * 262144 )) -l 65536 "$d/punch"
	fallocate -p -o $(( (r % 7) * 131072 + 4096 )) -l 131072 "$d/punch-text"
	# Refill a range punched in an earlier round, as the rounds wrap.
	_sc_put "$d/punch" $(( ((r + 4) % 8) * 262144 )) 65536 "mut/refill.$r"
	"$TOOLS/clonerange" "$d/overwrite" 524288 131072 "$d/clone-target" \
		$(( (r % 4) * 131072 ))
}

# A rename over an existing file; a name reused by a new inode.
_sc_replace() {
	local p=$1/repl r=$2
	_sc_rand "$p/new" 500 "mut/repl.$r"
	mv "$p/new" "$p/target"
	rm -f "$p/x.$((r - 1))"
	mv "$p/x" "$p/x.$r"
	_sc_rand "$p/x" 50 "mut/repl-x.$r"
}

_sc_hardlinks() {
	local h=$1/hl r=$2 any
	any=$(find "$h" -type f -print -quit)
	ln "$any" "$h/new.$r"
	rm -f "$h/new.$((r - 1))"
	if [ $((r % 2)) = 1 ] && [ -e "$h/orig" ]; then
		rm "$h/orig"
	elif [ ! -e "$h/orig" ]; then
		ln "$any" "$h/orig"
	fi
	# A link whose original disappears in the same round.
	_sc_rand "$h/tmp.$r" 100 "mut/hltmp.$r"
	ln "$h/tmp.$r" "$h/sub/kept.$r"
	rm "$h/tmp.$r"
}

_sc_attr_changes() {
	local m=$1 r=$2
	setfattr -n user.change -v "round $r" "$m/x/file"
	setfattr -n "user.new.$r" -v "$(_sc_hex 100 "mut/x$r")" "$m/x/file"
	setfattr -x "user.new.$((r - 1))" "$m/x/file" 2>/dev/null || true
	if getfattr -n user.gone "$m/x/file" >/dev/null 2>&1; then
		setfattr -x user.gone "$m/x/file"
	else
		setfattr -n user.gone -v "back $r" "$m/x/file"
	fi
	setfattr -n user.dir -v "$r" "$m/x/dir"
	chown $((1000 + r)):$((2000 + r)) "$m/own/file"
	chmod $([ $((r % 2)) = 1 ] && echo 4750 || echo 0644) "$m/own/file"
	chmod $([ $((r % 2)) = 1 ] && echo 1777 || echo 0755) "$m/own/dir"
	chown -h $((r * 7)):$((r * 11)) "$m/own/dir"
}

_sc_new_files() {
	local m=$1 r=$2 g=$1/gen.$2
	mkdir -p "$g/sub/subsub" "$g/empty"
	_sc_rand "$g/random" $((r * 10000 + 1)) "mut/gen$r"
	_sc_text "$g/text" $((256 * 1024 + r)) "mut/gen$r-text"
	_sc_rand "$g/sub/subsub/f" 100 "mut/gen$r-f"
	mkfifo "$g/fifo"
	ln -s "../data/overwrite" "$g/symlink"
	ln "$m/data/append" "$g/link-to-old"
	cp --reflink=always "$m/data/overwrite" "$g/reflink-full"
	"$TOOLS/clonerange" "$m/data/punch-text" 0 262144 "$g/reflink-text" 65536
	"$TOOLS/clonerange" "$m/data/clone-target" 131072 131072 \
		"$g/reflink-part" 0
}

scenario_mutate() {
	local dir=$1 r=$2 m=$1/mut
	[ -d "$m" ] || fail "scenario_mutate: $dir was not made by scenario_populate"
	[ "$r" -ge 1 ] 2>/dev/null || fail "scenario_mutate: round '$r' (1, 2, ...)"
	_sc_need_tools
	(
		set -eo pipefail
		_sc_renames "$m"; _sc_toggle_types "$m" "$r"; _sc_deletes "$m" "$r"
		_sc_data_changes "$m" "$r"; _sc_replace "$m" "$r"
		_sc_hardlinks "$m" "$r"
		_sc_attr_changes "$m" "$r"; _sc_new_files "$m" "$r"
	)
	[ $? = 0 ] || fail "scenario_mutate $dir $r failed (see the error above)"
}

snap_ro() {
	btrfs -q subvolume snapshot -r "$1" "$2" >/dev/null ||
		fail "snapshot -r $1 $2"
}
