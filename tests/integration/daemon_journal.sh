# Under journald (JOURNAL_STREAM names stderr's device:inode) btrsendd
# logs to the journal with structured fields JOB and SNAPSHOT beside
# MESSAGE and PRIORITY, and nothing to stderr; with -d it logs to stderr
# and not to the journal.  The journal socket is a stand-in (notify_sink
# reading the native protocol) on a private /run in a mount namespace of
# the test's own, so the host's /run is untouched.
. "$(dirname "$0")/../lib/common.sh"

command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
fixture_init
btrfs_fs FS 256M
S=$(scratch_dir)
btrfs -q subvolume create "$FS/src"
mkdir "$FS/snaps"
cat > "$S/btrsend.conf" <<EOC
state-dir $S/state
job jj {
    source       $FS/src
    snapshot-dir $FS/snaps
    schedule     every 1s
}
EOC

# run_ns OUT ARGS...: btrsendd ARGS for 3 s, journal in $S/OUT.journal,
# stderr in $S/OUT.stderr.
run_ns() {
	local out=$1
	shift
	unshare --mount --propagation private bash -c '
		set -e
		sink_tool=$0 out=$1
		shift
		mount -t tmpfs tmpfs /run
		mkdir -p /run/systemd/journal
		"$sink_tool" /run/systemd/journal/socket "$out.journal" &
		sink=$!
		for i in $(seq 50); do
			[ -S /run/systemd/journal/socket ] && break
			sleep 0.1
		done
		exec 2> "$out.stderr"
		export JOURNAL_STREAM=$(stat -c %d:%i "$out.stderr")
		rc=0
		timeout -s TERM 3 "$@" || rc=$?
		kill $sink
		[ $rc = 124 ] || { echo "btrsendd exit $rc" >&2; exit 1; }
	' "$TOOLS/notify_sink" "$S/$out" "$BTRSENDD" "$@" ||
		fail "btrsendd in the namespace: $(cat "$S/$out.stderr")"
}

run_ns svc -f "$S/btrsend.conf"
j=$S/svc.journal
[ -s "$j" ] || fail "nothing reached the journal socket"
[ -f "$S/svc.stderr" ] || fail "no stderr file"
[ -s "$S/svc.stderr" ] && fail "stderr used under journald: $(cat "$S/svc.stderr")"
grep -q '^MESSAGE=job jj: run ok: snapshot jj\.' "$j" || fail "no run message: $(cat "$j")"
# The run message carries its fields, in the same datagram.
awk -v RS='--\n' '/MESSAGE=job jj: run ok/ && /\nJOB=jj\n/ &&
    /\nSNAPSHOT=jj\.[0-9]+T[0-9]+Z\n/ && /\nPRIORITY=6\n/ &&
    /\nSYSLOG_IDENTIFIER=btrsendd\n/ { ok = 1 } END { exit !ok }' "$j" ||
	fail "run message without JOB/SNAPSHOT/PRIORITY fields: $(cat "$j")"
# A message about no job carries no JOB field.
awk -v RS='--\n' '/MESSAGE=started with/ && /JOB=/ { bad = 1 } END { exit bad }' "$j" ||
	fail "a stale JOB field on the start-up message"

run_ns fg -d -f "$S/btrsend.conf"
grep -q '^btrsendd: job jj: run ok' "$S/fg.stderr" || fail "-d: nothing on stderr"
[ -s "$S/fg.journal" ] && fail "-d: messages went to the journal"
echo "daemon_journal: ok"
