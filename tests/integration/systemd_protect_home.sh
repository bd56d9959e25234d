# What btrsendd.service's ProtectHome=read-only comment promises: with a
# /home subvolume read-only (as that setting bind-mounts it), a snapshot
# of it into a snapshot-dir outside /home on the same filesystem still
# works, and so do sending and deleting that snapshot; a snapshot-dir
# under /home does not (EROFS), which is why such a layout needs
# ReadWritePaths= in a drop-in.  The read-only bind is made in a private
# mount namespace, as systemd makes it.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
command -v unshare >/dev/null || skip "unshare not installed (util-linux)"
[ -x "$CTL" ] || fail "not built (make integration)"
WORK=$(scratch_dir)
btrfs_fs S 256M
btrfs -q subvolume create "$S/home" || fail "subvolume create"
echo data > "$S/home/file"
mkdir "$S/.snapshots" "$S/home/.snapshots"

cat > "$WORK/inside.sh" <<'SH'
set -u
S=$1 CTL=$2 WORK=$3
mount --bind "$S/home" "$S/home" && mount -o remount,bind,ro "$S/home" ||
	{ echo "cannot make $S/home read-only"; exit 2; }
touch "$S/home/x" 2> /dev/null && { echo "home is not read-only"; exit 2; }
btrfs -q subvolume snapshot -r "$S/home" "$S/.snapshots/h1" ||
	{ echo "snapshot of the read-only home into .snapshots failed"; exit 1; }
"$CTL" send -o "$WORK/h1.stream" "$S/.snapshots/h1" ||
	{ echo "send of the snapshot failed"; exit 1; }
err=$(btrfs -q subvolume snapshot -r "$S/home" "$S/home/.snapshots/h2" 2>&1) &&
	{ echo "snapshot into read-only home/.snapshots worked"; exit 1; }
case $err in
*"Read-only file system"*) ;;
*) echo "snapshot into home/.snapshots: unexpected error: $err"; exit 1 ;;
esac
btrfs -q subvolume delete "$S/.snapshots/h1" > /dev/null ||
	{ echo "delete of the snapshot failed"; exit 1; }
SH
out=$(unshare -m --propagation private bash "$WORK/inside.sh" "$S" "$CTL" "$WORK" 2>&1) ||
	fail "$out"
[ -s "$WORK/h1.stream" ] || fail "no stream written"
"$CTL" verify -f "$WORK/h1.stream" > /dev/null || fail "the stream does not verify"
echo "ProtectHome=read-only: /home subvolumes snapshot into a snapshot-dir outside /home"
