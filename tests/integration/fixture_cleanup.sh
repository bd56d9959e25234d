# The loopback fixture tears down its mounts, loop devices and images when
# a test fails, when it is interrupted, and after a SIGKILL (by reaping on
# the next run); two fixtures at once never share a name.
. "$(dirname "$0")/../lib/common.sh"
require_btrfs

child() {   # child MODE: make two filesystems, then end as MODE says
	cat <<CHILD
. "$TOP/tests/lib/common.sh"
fixture_init
btrfs_fs A 256M
btrfs_fs C 256M compress=zstd
echo "\$FIX_DIR" > "\$1"
touch "\$A/x" "\$C/y" || exit 3
case $1 in
fail) exit 1 ;;
int)  kill -INT \$\$; sleep 5 ;;
kill) kill -KILL \$\$ ;;
esac
CHILD
}

state() { grep -c btrsend-test /proc/mounts; losetup -a | grep -c btrsend-test; }

check_gone() {  # check_gone DIR MODE
	grep -q "$1" /proc/mounts && fail "$2: mount of $1 left behind"
	losetup -a | grep -q "$1" && fail "$2: loop device of $1 left behind"
	[ -e "$1" ] && fail "$2: $1 left behind"
	return 0
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for mode in fail int; do
	child $mode > "$tmp/t.sh"
	bash "$tmp/t.sh" "$tmp/dir.$mode" && fail "$mode: child should not succeed"
	dir=$(cat "$tmp/dir.$mode")
	check_gone "$dir" $mode
done

# SIGKILL: nothing can run then, so the next fixture_init reaps it.
child kill > "$tmp/t.sh"
bash "$tmp/t.sh" "$tmp/dir.kill" && fail "kill: child should not succeed"
dir=$(cat "$tmp/dir.kill")
grep -q "$dir" /proc/mounts || fail "kill: expected the killed run's mounts to remain"
bash -c ". '$TOP/tests/lib/common.sh'; fixture_init; btrfs_fs Z 256M"
check_gone "$dir" kill

# Two fixtures at once get distinct directories and mount points.
child fail > "$tmp/t.sh"
bash "$tmp/t.sh" "$tmp/p1" & bash "$tmp/t.sh" "$tmp/p2" & wait
[ "$(cat "$tmp/p1")" != "$(cat "$tmp/p2")" ] || fail "two runs shared a fixture dir"
check_gone "$(cat "$tmp/p1")" parallel
check_gone "$(cat "$tmp/p2")" parallel
echo "fixture cleanup: ok"
