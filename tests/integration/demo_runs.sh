# `make demo`'s script, tests/lib/demo.sh, run non-interactively three
# times:
# 1. as it is: exits 0 with "demo: ok" after showing a full send, an
#    incremental one, a cut transfer that resumed part-way with a count
#    of the bytes sent again, btrsendctl status and the snapshots the
#    backup holds;
# 2. with a treecmp that reports every copy as different: exits 1 naming
#    the first snapshot, instead of carrying on;
# 3. interrupted by SIGINT to its process group (a ^C) while the daemons
#    transfer: exits non-zero.
# Each time nothing is left behind: no mount, loop device, process or
# directory of the demo.
. "$(dirname "$0")/../lib/common.sh"
fixture_init	# skips unless root with loop devices and btrfs, as the demo needs
d=$(scratch_dir)

# The demo's fixture directory, from its first line.
demo_dir() { sed -n 's/^ *working in \(\/dev\/shm\/btrsend-test\.[^ ]*\) .*/\1/p' "$1" | head -n 1; }

# check_clean OUT [PGID]: the demo that wrote OUT left nothing behind.
check_clean() {
	local dir p
	dir=$(demo_dir "$1")
	[ -n "$dir" ] || fail "the demo did not say where it works: $(head -5 "$1")"
	[ ! -e "$dir" ] || fail "$dir is still there"
	! grep -qF "$dir" /proc/mounts || fail "still mounted: $(grep -F "$dir" /proc/mounts)"
	! losetup -a | grep -qF "$dir" || fail "loop devices left: $(losetup -a | grep -F "$dir")"
	! pgrep -f "$dir" > /dev/null || fail "processes left: $(pgrep -af "$dir")"
	# Zombies are dead already: only their reaping (by whoever inherits
	# them) may lag.
	for p in $([ -n "${2:-}" ] && pgrep -g "$2"); do
		ps -o stat= -p "$p" | grep -qv '^Z' &&
			fail "processes left in its group: $(ps -o pid,stat,args -p "$p")"
	done
}

# 1. The real thing.
bash "$TOP/tests/lib/demo.sh" > "$d/out1" 2>&1
rc=$?
[ $rc = 77 ] && skip "$(grep SKIP "$d/out1")"
[ $rc = 0 ] || fail "the demo failed (exit $rc): $(tail -n 40 "$d/out1")"
tail -n 1 "$d/out1" | grep -q "^demo: ok" || fail "no 'demo: ok' at its end: $(tail -n 5 "$d/out1")"
grep -q "sent home\.[0-9TZ]* to backup, full" "$d/out1" || fail "no full send shown"
grep -q "sent home\.[0-9TZ]* to backup, incremental from home\." "$d/out1" ||
	fail "no incremental send shown"
grep -q "killed by signal 9" "$d/out1" || fail "the cut is not shown"
grep -q "resuming at command [0-9]*, byte [1-9][0-9]*$" "$d/out1" ||
	fail "no resume part-way shown"
grep -q ": [0-9]* bytes sent before the cut go again$" "$d/out1" ||
	fail "the bytes sent again are not shown"
grep -q "^   btrsendctl status" "$d/out1" || fail "btrsendctl status not shown"
[ "$(grep -c "^   home\.[0-9TZ.]* .*-.* .*-" "$d/out1")" = 3 ] ||
	fail "the table of what the backup holds does not list 3 snapshots"
check_clean "$d/out1"
note "demo ok in $(sed -n 's/^demo: ok (\([0-9]*\) s)/\1/p' "$d/out1") s"

# 2. A comparison that fails must fail the demo.  A build directory of
# links to the real one, but with a treecmp that finds a difference.
fake=$d/build
mkdir -p "$fake/tests"
ln -s "$BIN/btrsendd" "$BIN/btrsendctl" "$fake/"
for t in "$TOOLS"/*; do ln -s "$t" "$fake/tests/"; done
rm "$fake/tests/treecmp"
printf '#!/bin/sh\necho "files/size-0: contents differ"\nexit 1\n' > "$fake/tests/treecmp"
chmod +x "$fake/tests/treecmp"
B=$(realpath --relative-to="$TOP" "$fake") bash "$TOP/tests/lib/demo.sh" > "$d/out2" 2>&1
rc=$?
[ $rc = 1 ] || fail "with a failing treecmp the demo exited $rc: $(tail -n 20 "$d/out2")"
grep -q "^FAIL: home\.[0-9TZ]* on the backup differs from its source" "$d/out2" ||
	fail "the demo's failure does not name the snapshot: $(tail -n 5 "$d/out2")"
! grep -q "demo: ok" "$d/out2" || fail "the failed demo still said ok"
check_clean "$d/out2"

# 3. ^C while the third run transfers: the demo runs in its own process
# group (job control on) and the whole group gets SIGINT, as from a
# terminal.
set -m
bash "$TOP/tests/lib/demo.sh" > "$d/out3" 2>&1 &
pgid=$!
set +m
for i in $(seq 600); do
	grep -q "^== 8\." "$d/out3" && break
	kill -0 $pgid 2>/dev/null || break
	sleep 0.1
done
grep -q "^== 8\." "$d/out3" || { kill -9 -- -$pgid 2>/dev/null; fail "the demo never reached step 8: $(tail -n 20 "$d/out3")"; }
sleep 1
kill -INT -- -$pgid
for i in $(seq 300); do
	kill -0 $pgid 2>/dev/null || break
	sleep 0.1
done
if kill -0 $pgid 2>/dev/null; then
	kill -9 -- -$pgid 2>/dev/null
	fail "the demo did not stop within 30 s of SIGINT"
fi
wait $pgid
rc=$?
[ $rc != 0 ] || fail "the interrupted demo exited 0"
! grep -q "demo: ok" "$d/out3" || fail "the interrupted demo said ok"
check_clean "$d/out3" $pgid
echo "demo_runs: ok"
