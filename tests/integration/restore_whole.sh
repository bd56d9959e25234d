# btrsendctl restore of a whole snapshot (issue 17), the client's side:
# a snapshot sent to the backup host comes back into a directory that
# holds nothing related, equal to the source (treecmp), read-only and
# marked received with the source's uuid; the same command again says
# "already restored" and writes nothing; a name that exists in DEST
# (a directory, a writable subvolume) is refused and left untouched;
# and the restoring process is confined before it reads the backup
# host's answer: probes through BTRSEND_TEST_SANDBOX_PROBE find Landlock
# refusing writes outside DEST, reads of the TLS key and a connect to
# another port (while DEST stays writable), capabilities it dropped
# refused, and ptrace killing it (seccomp), with nothing restored.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
. "$TOP/tests/lib/restore.sh"
fixture_init
rs_fixture d 1G
btrfs_fs LOST 1G

net_source small
s0=home.20260101T000000Z
rs_snap $s0
rs_send $s0

# The whole snapshot, into a filesystem that holds nothing related.
mkdir "$LOST/r"
rs_restore $s0 "$LOST/r"
got=$LOST/r/$s0
[ "$(ls -A "$LOST/r")" = "$s0" ] || fail "DEST holds more than $s0: $(ls -A "$LOST/r")"
check_received "$SRC/snaps/$s0" "$got"
"$TOOLS/treecmp" --holes --ignore-root-times "$SRC/snaps/$s0" "$got" ||
	fail "holes differ"
touch "$got/probe" 2>/dev/null && fail "the restored snapshot is writable"
grep -q "^restored home/$s0 from backup into $LOST/r/$s0 ([0-9]* bytes)$" "$RS_OUT" ||
	fail "final line: $(cat "$RS_OUT")"

# Again: nothing to do, nothing written.
gen=$(btrfs subvolume find-new "$got" 9999999 | sed 's/.*transid marker was //')
rs_restore $s0 "$LOST/r"
grep -q "already restored" "$RS_OUT" || fail "second restore: $(cat "$RS_OUT" "$RS_ERR")"
[ "$(btrfs subvolume find-new "$got" 9999999 | sed 's/.*transid marker was //')" = "$gen" ] ||
	fail "the second restore changed $got"

# An existing name is refused and left as it was, whatever it is.
mkdir "$LOST/busy" "$LOST/busy/$s0"
echo mine > "$LOST/busy/$s0/keep"
rs_restore_fails $s0 "$LOST/busy"
grep -q "$LOST/busy/$s0 already exists" "$RS_ERR" || fail "refusal: $(cat "$RS_ERR")"
[ "$(ls -A "$LOST/busy/$s0")" = keep ] && [ "$(cat "$LOST/busy/$s0/keep")" = mine ] ||
	fail "the existing directory changed: $(ls -la "$LOST/busy/$s0")"
[ "$(ls -A "$LOST/busy")" = "$s0" ] || fail "something was written beside it: $(ls -A "$LOST/busy")"
mkdir "$LOST/busy2"
btrfs -q subvolume create "$LOST/busy2/$s0" || fail "subvolume create"
echo mine > "$LOST/busy2/$s0/keep"
rs_restore_fails $s0 "$LOST/busy2"
[ "$(cat "$LOST/busy2/$s0/keep")" = mine ] && [ "$(ls -A "$LOST/busy2")" = "$s0" ] ||
	fail "the existing subvolume changed"
# Not a directory, not on btrfs: refused before connecting.
rs_restore_fails $s0 "$LOST/nonexistent"
grep -q "must be an existing directory" "$RS_ERR" || fail "missing DEST: $(cat "$RS_ERR")"
notbtrfs=$(scratch_dir)
rs_restore_fails $s0 "$notbtrfs"
grep -q "is not on btrfs: a whole snapshot can only be restored as a subvolume; use --path for files" \
	"$RS_ERR" || fail "tmpfs DEST: $(cat "$RS_ERR")"

# The barriers, crossed on purpose once confined.
mkdir "$LOST/p" "$LOST/q"
outside=$LOST/q/outside
probe="write:$outside,write:/etc/passwd,read:$NET_CERTS/laptop.test.key"
probe="$probe,write:$LOST/p/inside,connect:22,cap:cap_sys_module,cap:cap_net_admin"
BTRSEND_TEST_SANDBOX_PROBE=$probe rs_restore $s0 "$LOST/p"
saw() {
	grep -qF -- "TEST: sandbox probe: $1" "$RS_ERR" ||
		fail "$2: no 'probe: $1' in: $(cat "$RS_ERR")"
}
saw "write $outside: Permission denied" "Landlock, beside DEST"
saw "write /etc/passwd: Permission denied" "Landlock, /etc/passwd"
saw "read $NET_CERTS/laptop.test.key: Permission denied" "Landlock, the TLS key"
saw "write $LOST/p/inside: allowed" "DEST itself"
saw "raise cap_sys_module: Operation not permitted" "a capability never kept"
saw "raise cap_net_admin: Operation not permitted" "a capability never kept"
saw "connect 127.0.0.1:22: Permission denied" "Landlock, another port"
[ -e "$outside" ] && fail "a file appeared beside DEST"
rm -f "$LOST/p/inside"
check_received "$SRC/snaps/$s0" "$LOST/p/$s0"
# A system call outside the list kills it before a byte is read.
mkdir "$LOST/k"
BTRSEND_TEST_SANDBOX_PROBE=call:ptrace _rs_run $s0 "$LOST/k"
rc=$?
[ $rc -eq $((128 + 31)) ] || fail "after ptrace: exit $rc, not SIGSYS: $(cat "$RS_ERR")"
grep -q "probe: ptrace returned" "$RS_ERR" && fail "ptrace returned: $(cat "$RS_ERR")"
[ -z "$(ls -A "$LOST/k")" ] || fail "the killed restore wrote into DEST: $(ls -A "$LOST/k")"
echo "whole restore equals the source, refuses what exists, confined: ok"
