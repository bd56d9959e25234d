# restore --path brings back one subtree as DEST/<last component>, equal
# to the source's (treecmp, holes included), with only its data on the
# wire (bytes counted by the fault proxy; the snapshot around it holds
# 32 MiB more): a directory and a single sparse file with xattrs, into a
# directory on btrfs, on ext4 and on tmpfs (where the btrfs compression
# property cannot be set: reported, not fatal), and as a user without
# privileges into a directory it owns, with a copy of the key it can
# read.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
. "$TOP/tests/lib/restore.sh"
fixture_init
rs_fixture d 1G
for t in setpriv mkfs.ext4; do command -v $t >/dev/null || skip "$t not installed"; done

net_source small
"$TOOLS/gen" "1:restore-path" $((32 << 20)) > "$SRC/src/big" || fail "gen"
xs=$SRC/src/sparse/xattr-sparse
truncate -s $((8 << 20)) "$xs"
"$TOOLS/gen" "1:xs1" 4096 | dd of="$xs" bs=4096 seek=256 conv=notrunc status=none
"$TOOLS/gen" "1:xs2" 70000 | dd of="$xs" bs=4096 seek=1280 conv=notrunc status=none
setfattr -n user.kind -v "sparse with xattrs" "$xs" && setfattr -n trusted.t -v 0x0102 "$xs" ||
	fail "setfattr"
chmod 0640 "$xs" && chown 1000:100 "$xs" && touch -d '2011-11-11 11:11:11.5' "$xs"
s1=home.20260101T000000Z
rs_snap $s1
rs_send $s1
snap=$SRC/snaps/$s1

# restore_path PATH DEST MAXBYTES: through a new proxy, at most MAXBYTES
# from the backup host.
n=0
restore_path() {
	local bytes
	n=$((n + 1))
	net_start_proxy "$d/proxy$n" -T 300
	rs_conf "$d/proxy$n.conf" "$NET_PROXY_PORT"
	rs_restore -c "$d/proxy$n.conf" --path "$1" $s1 "$2"
	bytes=$(rs_bytes "$d/proxy$n")
	kill "${FIX_PIDS[-1]}"
	note "--path $1 into $2: $bytes bytes from the backup host"
	[ -n "$bytes" ] && [ "$bytes" -le "$3" ] ||
		fail "--path $1 moved $bytes bytes (bound $3): more than the subtree"
}

# A directory and a file into a directory on btrfs.
mkdir "$SRC/r"
restore_path sparse "$SRC/r" $((2 << 20))
"$TOOLS/treecmp" --holes "$snap/sparse" "$SRC/r/sparse" || fail "sparse/ differs (btrfs)"
[ "$(ls "$SRC/r")" = sparse ] || fail "DEST holds more than sparse: $(ls "$SRC/r")"
mkdir "$SRC/rf"
restore_path sparse/xattr-sparse "$SRC/rf" $((1 << 20))
"$TOOLS/treecmp" --holes "$snap/sparse/xattr-sparse" "$SRC/rf/xattr-sparse" ||
	fail "the single file differs (btrfs)"
[ "$(ls "$SRC/rf")" = xattr-sparse ] || fail "DEST holds more than the file: $(ls "$SRC/rf")"
[ "$(du -k "$SRC/rf/xattr-sparse" | cut -f1)" -lt 1024 ] || fail "holes filled: $(du -k "$SRC/rf/xattr-sparse")"

# The same on ext4.
img=$FIX_DIR/ext4.img
truncate -s 512M "$img" && mkfs.ext4 -q -F "$img" || fail "mkfs.ext4"
loop=$(losetup --find --show "$img") || skip "no free loop device"
echo "$loop" >> "$FIX_DIR/.loops"
EXT=$FIX_DIR/mnt.ext4
mkdir "$EXT" && mount -t ext4 "$loop" "$EXT" || fail "mount ext4"
echo "$EXT" >> "$FIX_DIR/.mounts"
restore_path sparse "$EXT" $((2 << 20))
"$TOOLS/treecmp" --holes "$snap/sparse" "$EXT/sparse" || fail "sparse/ differs (ext4)"
mkdir "$EXT/f"
restore_path sparse/xattr-sparse "$EXT/f" $((1 << 20))
"$TOOLS/treecmp" --holes "$snap/sparse/xattr-sparse" "$EXT/f/xattr-sparse" ||
	fail "the single file differs (ext4)"

# tmpfs cannot hold the btrfs compression property of text/prop-*:
# reported, not fatal; everything else equal.
TMP=$FIX_DIR/mnt.tmpfs
mkdir "$TMP" && mount -t tmpfs -o size=256M tmpfs "$TMP" || fail "mount tmpfs"
echo "$TMP" >> "$FIX_DIR/.mounts"
restore_path text "$TMP" $((8 << 20))
"$TOOLS/treecmp" --holes --no-xattr "$snap/text" "$TMP/text" || fail "text/ differs (tmpfs)"
grep -qi "compression\|prop-zstd\|prop-lzo" "$RS_OUT" "$RS_ERR" ||
	fail "what tmpfs lacks was not reported: $(cat "$RS_OUT" "$RS_ERR")"
restore_path sparse/xattr-sparse "$TMP" $((1 << 20))
"$TOOLS/treecmp" --holes "$snap/sparse/xattr-sparse" "$TMP/xattr-sparse" ||
	fail "the single file differs (tmpfs)"

# A user without privileges, into a directory it owns, with its own copy
# of the key: files it cannot own arrive as its own (reported).
u=4242
chmod o+x "$FIX_DIR" "$d"
mkdir "$d/user" "$SRC/mine"
cp "$NET_CERTS/laptop.test.crt" "$NET_CERTS/laptop.test.key" "$NET_CERTS/ca.crt" "$d/user/"
sed -e "s|$NET_CERTS/|$d/user/|" -e "s|$d/cstate|$d/user/state|" "$RS_CONF" > "$d/user/client.conf"
chown -R $u:$u "$d/user" "$SRC/mine"
chmod 0600 "$d/user/laptop.test.key"
as_user() { setpriv --reuid=$u --regid=$u --clear-groups --inh-caps=-all --bounding-set=-all "$@"; }
as_user timeout 120 "$CTL" restore -f "$d/user/client.conf" --from backup --job home \
	--path files $s1 "$SRC/mine" > "$d/user/out" 2> "$d/user/err" ||
	fail "restore as uid $u: $(cat "$d/user/out" "$d/user/err")"
note "as uid $u: $(tail -3 "$d/user/err" | tr '\n' ' ')"
"$TOOLS/treecmp" --holes --no-uid --no-gid "$snap/files" "$SRC/mine/files" ||
	fail "files/ differs (restored as uid $u)"
[ -z "$(find "$SRC/mine" ! -uid $u)" ] || fail "as uid $u, files not its own: $(find "$SRC/mine" ! -uid $u | head -3)"
echo "--path restores of a directory and a file: ok"
