# treecmp says "equal" for a real `btrfs send | btrfs receive` copy of the
# scenario, and reports each kind of difference, exactly once, naming the
# right path and category, when one small change is made to a copy.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
TREECMP=$TOOLS/treecmp
[ -x "$TREECMP" ] || fail "$TREECMP missing (make integration)"

btrfs_fs S 1G
# noatime: reading a copy while changing it must not move its atimes.
btrfs_fs R 1G noatime
btrfs -q subvolume create "$S/src" || fail "subvolume create"
scenario_populate "$S/src" small
snap_ro "$S/src" "$S/snap"
btrfs -q send "$S/snap" | btrfs -q receive "$R" || fail "send | receive"
REF=$S/snap

out=$("$TREECMP" "$REF" "$R/snap") || fail "received copy differs: $out"
[ -z "$out" ] || fail "treecmp printed output for equal trees: $out"
out=$("$TREECMP" --holes "$REF" "$R/snap") || fail "holes differ after receive: $out"

n=0
# new_case: a writable snapshot of the received copy becomes $C.
new_case() {
	n=$((n + 1))
	C=$R/case-$n
	btrfs -q subvolume snapshot "$R/snap" "$C" >/dev/null || fail "snapshot $C"
}

# Restore a changed entry's (and its directory's) times from the reference,
# so that only the category under test differs.
keep_times() {
	local p
	for p in "$@"; do
		touch -h -r "$REF/$p" "$C/$p" || fail "touch -r $p"
	done
}

# expect NAME [TREECMP_OPTS...] -- LINE...: treecmp exits 1 printing exactly LINEs.
expect() {
	local name=$1 opts=() out rc
	shift
	while [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	out=$("$TREECMP" "${opts[@]}" "$REF" "$C")
	rc=$?
	[ "$rc" = 1 ] || fail "$name: treecmp exited $rc, want 1 (output: $out)"
	diff <(printf '%s\n' "$@") <(printf '%s\n' "$out") >&2 ||
		fail "$name: treecmp output differs from the expected lines (< want, > got)"
	note "$name: ok"
}

expect_equal() {
	local name=$1 out
	shift
	out=$("$TREECMP" "$@" "$REF" "$C") || fail "$name: want equal, got: $out"
}

byte_at() { xxd -s "$2" -l 1 -p "$1"; }   # byte_at FILE OFFSET: hex

flip_byte() {  # flip_byte FILE OFFSET
	printf '%02x' $((0x$(byte_at "$1" "$2") ^ 0x5a)) | xxd -r -p |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

new_case
expect_equal "snapshot of the copy"

new_case
f=files/size-65536
flip_byte "$C/$f" 1000
keep_times $f
expect content -- \
	"$f: content: first difference at byte 1000: A=0x$(byte_at "$REF/$f" 1000) B=0x$(byte_at "$C/$f" 1000)"

new_case   # the last byte, past the first 1 MiB read buffer
f=files/three-mib
size=$(stat -c %s "$REF/$f")
flip_byte "$C/$f" $((size - 1))
keep_times $f
off=$((size - 1))
expect "content at the end" -- \
	"$f: content: first difference at byte $off: A=0x$(byte_at "$REF/$f" $off) B=0x$(byte_at "$C/$f" $off)"

new_case
truncate -s 4096 "$C/files/size-4097"
keep_times files/size-4097
expect size -- "files/size-4097: size: A=4097 B=4096"

new_case
chmod u-s "$C/modes/file-4755"
expect "setuid bit" -- "modes/file-4755: mode: A=4755 B=0755"

new_case
chmod -t "$C/modes/dir-1777"
expect "sticky bit" -- "modes/dir-1777: mode: A=1777 B=0777"

new_case   # escaping: a name with invalid UTF-8
f=$'names/invalid-\xff\xfe-utf8'
mode=$(stat -c %a "$REF/$f")
chmod 0600 "$C/$f"
expect "mode, escaped name" -- "names/invalid-\\377\\376-utf8: mode: A=0$mode B=0600"

new_case
chown 1001 "$C/owners/file-1000-1000"
expect uid -- "owners/file-1000-1000: uid: A=1000 B=1001"

new_case
chgrp 4294967293 "$C/owners/file-4294967294-4294967294"
expect gid -- "owners/file-4294967294-4294967294: gid: A=4294967294 B=4294967293"

new_case
f=files/size-12345
t=$(stat -c %.9Y "$REF/$f")
ns=$(( (10#${t#*.} + 1) % 1000000000 ))
touch -m -d "@${t%.*}.$(printf %09d $ns)" "$C/$f"
expect "mtime nsec" -- "$f: mtime: A=$t B=${t%.*}.$(printf %09d $ns)"

new_case
f=files/size-8191
t=$(stat -c %.9X "$REF/$f")
touch -a -d "@$((${t%.*} - 1)).${t#*.}" "$C/$f"
expect atime -- "$f: atime: A=$t B=$((${t%.*} - 1)).${t#*.}"
expect_equal "atime ignored with --no-atime" --no-atime

new_case
setfattr -n user.text -v "hello worle" "$C/xattrs/plain"
expect "xattr value" -- \
	'xattrs/plain: xattr user.text: A="hello world"(11 bytes) B="hello worle"(11 bytes)'

new_case
setfattr -n user.binary -v 0x00ff000102fe01 "$C/xattrs/plain"
expect "binary xattr value" -- \
	'xattrs/plain: xattr user.binary: A="\000\377\000\001\002\376\000"(7 bytes) B="\000\377\000\001\002\376\001"(7 bytes)'

new_case
setfattr -h -x trusted.on-symlink "$C/xattrs/symlink"
expect "xattr on a symlink" -- \
	'xattrs/symlink: xattr trusted.on-symlink: A="link value"(10 bytes) B=(absent)'

new_case
setfattr -n user.added -v x "$C/xattrs/dir"
expect "xattr added to a dir" -- 'xattrs/dir: xattr user.added: A=(absent) B="x"(1 bytes)'

new_case
setfacl -x u:1000 "$C/acl/access"
setfacl -m m::rwx "$C/acl/access"
out=$("$TREECMP" "$REF" "$C")
[ $? = 1 ] && [ "$(printf '%s\n' "$out" | cut -d: -f1-2 | sort -u)" = \
	"acl/access: xattr system.posix_acl_access" ] ||
	fail "ACL change not reported as such: $out"
note "posix ACL: ok"

new_case
setcap -r "$C/caps/net-raw"
out=$("$TREECMP" "$REF" "$C")
[ $? = 1 ] && [[ $out == "caps/net-raw: xattr security.capability: A="*" B=(absent)" ]] ||
	fail "capability removal not reported: $out"
note "file capability: ok"

new_case   # replace one name of a hard-linked file by a separate copy
cp -a "$REF/links/c/link3" "$C/links/c/link3.tmp"
mv "$C/links/c/link3.tmp" "$C/links/c/link3"
keep_times links/c
expect "hard link broken" -- "links/c/link3: link: A=links/a/orig B=(first name)"

new_case   # the reverse: two separate files become one inode
rm "$C/modes/file-0644"
ln "$C/files/size-0" "$C/modes/file-0644"
out=$("$TREECMP" --no-mode --no-uid --no-gid --no-size --no-content \
	--no-mtime --no-atime --no-xattr "$REF" "$C" | grep -v '^modes: ')
[ "$out" = "modes/file-0644: link: A=(first name) B=files/size-0" ] ||
	fail "new hard link not reported: $out"
note "hard link added: ok"

new_case
rm "$C/symlinks/relative"
ln -s ../files/size-2 "$C/symlinks/relative"
keep_times symlinks symlinks/relative
expect "symlink target" -- \
	'symlinks/relative: target: A="../files/size-1"(15 bytes) B="../files/size-2"(15 bytes)'

new_case
f=special/chr-259-1048575
rm "$C/$f"
mknod "$C/$f" c 259 1048574
chmod --reference="$REF/$f" "$C/$f"
keep_times special $f
expect rdev -- "$f: rdev: A=259:1048575 B=259:1048574"

new_case
rm "$C/special/fifo"
: > "$C/special/fifo"
chmod --reference="$REF/special/fifo" "$C/special/fifo"
keep_times special special/fifo
expect type -- "special/fifo: type: A=fifo B=file"

new_case
: > "$C/empty/e1/extra"
keep_times empty/e1
expect "extra file" -- "empty/e1/extra: names: A=absent B=present"

new_case
rm "$C/names/"$'new\nline'
keep_times names
expect "missing file, escaped name" -- 'names/new\nline: names: A=present B=absent'

new_case   # deep below: 100 levels
f=$(cd "$REF" && find deep -name bottom)
chmod 0600 "$C/$f"
expect "deep path" -- "$f: mode: A=0644 B=0600"

new_case   # zeros written into a hole: same content, different layout
f=sparse/middle-hole
dd if=/dev/zero of="$C/$f" bs=4096 seek=32 count=1 conv=notrunc status=none
keep_times $f
expect_equal "zeros over a hole without --holes"
expect "hole vs zeros" --holes -- \
	"$f: holes: A=data@0+65536,data@1114112+70000 B=data@0+65536,data@131072+4096,data@1114112+70000"

"$TREECMP" >/dev/null 2>&1; [ $? = 2 ] || fail "usage error must exit 2"
"$TREECMP" --no-such "$REF" "$C" >/dev/null 2>&1; [ $? = 2 ] || fail "bad option must exit 2"
"$TREECMP" "$REF" "$C/nonexistent" >/dev/null 2>&1; [ $? = 2 ] || fail "missing root must exit 2"
echo "treecmp detects every category: ok"
