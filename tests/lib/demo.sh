#!/bin/bash
# make demo: two real btrsendd replicating over TLS on loopback btrfs.
#
# A "laptop" filesystem with a job and a "backup" filesystem that receives,
# both loopback btrfs images in /dev/shm; a throwaway CA and a certificate
# for each host; one btrsendd per side in the foreground, logging to files.
# Runs are asked for with `btrsendctl run`: a full send; files change and
# an incremental one; a third, bandwidth-limited, is cut by a kill -9 of
# the backup's receive worker and resumes where it stopped.  `btrsendctl
# status`, `snapshots`, `history` and the metrics endpoint show the
# laptop's view, `btrfs subvolume list` the backup's; every received
# snapshot is compared with its source.  Then `btrsendctl restore` gets
# the newest back whole, and one file of it (--path), both compared.  Everything is removed at the end, also after a failure or
# ^C.
#
# Exit 0 only when every check passed.  Run it through `make demo` (which
# installs the dependencies and builds first) or directly, as root, after
# `make`.  It runs the release build (build/), as shipped: no test hooks.
B=${B:-build}
. "$(dirname "$0")/common.sh"
. "$TOP/tests/lib/scenario.sh"

if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD= PLAIN=; fi
# Output: the fixture's directory is $D on screen, tabs are 4 spaces.
short() { sed -e "s|${FIX_DIR:-/nonexistent}|\$D|g" -e 's/\t/    /g'; }
step() { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
say() { printf '   %s\n' "$*" | short; }
show() { short | sed 's/^/   | /'; }

# The cut transfer: a file of BIG_MIB MiB sent at RATE_MIB MiB/s, the
# receiver killed once KILL_MIB MiB of the file have arrived.
BIG_MIB=64
RATE_MIB=16
KILL_MIB=38

# ctl COMMAND ARGS...: a btrsendctl command for the laptop's daemon.
ctl() { "$CTL" "$1" -f "$WORK/laptop.conf" "${@:2}"; }

# On any failure: the end of both logs, so the reason is on screen.
demo_fail() {
	local f
	for f in "$WORK/backup.log" "$WORK/laptop.log"; do
		[ -s "$f" ] || continue
		echo "--- last lines of $f" >&2
		tail -n 15 "$f" >&2
	done
	fail "$*"
}

[ "$(id -u)" = 0 ] || fail "the demo needs root: it makes loop devices and mounts btrfs"
for t in treecmp gen mksock clonerange; do
	[ -x "$TOOLS/$t" ] || fail "$TOOLS/$t missing: run 'make' first"
done
[ -x "$BTRSENDD" ] || fail "$BTRSENDD missing: run 'make' first"
fixture_init
WORK=$(scratch_dir)
BACKUP_PID= LAPTOP_PID=

# After a failure or ^C: the daemons and their workers go first (kill -9),
# or they would keep the filesystems busy; then the fixture unmounts.
demo_cleanup() {
	local p victims=()
	for p in $BACKUP_PID $LAPTOP_PID; do
		victims+=($p $(pgrep -P "$p"))
	done
	[ ${#victims[@]} -gt 0 ] && kill -9 "${victims[@]}" 2>/dev/null
	for p in "${victims[@]}"; do wait "$p" 2>/dev/null; done
	fixture_cleanup
}
trap demo_cleanup EXIT
printf '   working in %s (removed at the end), $D below\n' "$FIX_DIR"

# ---------------------------------------------------------------- runs
#
# The job's schedule is manual: each run is asked for with `btrsendctl
# run` over the laptop's control socket, and is over when the laptop's
# log says so.
runs_ok() { grep -c "job home: run ok" "$WORK/laptop.log"; }

run_start() {
	say "btrsendctl run -f laptop.conf home:"
	ctl run home | show
	[ "${PIPESTATUS[0]}" = 0 ] || demo_fail "btrsendctl run home"
}

# run_wait N: wait until run number N has ended well.
run_wait() {
	local n=$1 i
	for i in $(seq 600); do
		kill -0 "$LAPTOP_PID" 2>/dev/null || demo_fail "the laptop's btrsendd died"
		[ "$(runs_ok)" -ge "$n" ] && return 0
		grep -q "job home: run \(failed\|did not complete\)" "$WORK/laptop.log" &&
			demo_fail "run $n failed"
		sleep 0.1
	done
	demo_fail "run $n did not end within 60 s"
}

# The lines of a log from line $2 on that match $3.
log_since() { tail -n +"$2" "$1" | grep -E "$3"; }
log_len() { wc -l < "$1"; }

newest() { ls "$SRC/snaps" | sort | tail -n 1; }
AREA=		# set below: where the backup keeps this job's snapshots

# check_snapshot NAME: the received copy equals its source, is read-only
# and carries the source's uuid as its received uuid.
check_snapshot() {
	local name=$1 got ruuid suuid
	got=$AREA/$name
	[ -d "$got" ] || demo_fail "$name is not on the backup ($got)"
	# After an incremental receive the root directory's times differ:
	# the kernel sends none for it (orphans pass through it).
	"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$name" "$got" ||
		demo_fail "$name on the backup differs from its source"
	[ "$(btrfs property get -ts "$got" ro)" = "ro=true" ] ||
		demo_fail "$name on the backup is not read-only"
	ruuid=$(btrfs subvolume show "$got" | awk '/Received UUID:/ { print $3 }')
	suuid=$(btrfs subvolume show "$SRC/snaps/$name" | awk '/^[[:space:]]*UUID:/ { print $2 }')
	[ "$ruuid" = "$suuid" ] ||
		demo_fail "$name: received uuid '$ruuid', the source's uuid is '$suuid'"
}

# ---------------------------------------------------------------- 1
step "1. Two loopback btrfs filesystems: the laptop and the backup host"
btrfs_fs SRC 1G compress=zstd
btrfs_fs DST 1G
say "laptop  $SRC  (btrfs, mounted with compress=zstd)"
say "backup  $DST  (btrfs)"
say "Both are image files in /dev/shm on loop devices; both daemons run on"
say "this machine and talk TLS over 127.0.0.1, as two hosts would."

step "2. Data on the laptop: a subvolume full of awkward files"
btrfs -q subvolume create "$SRC/home" || demo_fail "subvolume create"
mkdir "$SRC/snaps"
scenario_populate "$SRC/home" small
say "$SRC/home: $(find "$SRC/home" | wc -l) entries, $(du -sh --apparent-size "$SRC/home" | cut -f1):"
say "holes, hard links, symlinks, fifos, sockets, devices, set-id modes, owners,"
say "xattrs, ACLs, capabilities, reflinks, odd names, 100-deep directories."

step "3. A throwaway CA and a certificate for each host"
"$TOP/tests/lib/mkcerts.sh" "$WORK/certs" || demo_fail "mkcerts.sh"
for h in ca backup.test laptop.test; do
	say "$h.crt: $(openssl x509 -noout -subject -in "$WORK/certs/$h.crt")"
done
say "Both sides must present a certificate from this CA (TLS 1.3 only); the"
say "backup admits only the client names its config lists."

step "4. Two configurations"
# free_port: a port nothing answers on (yet).
free_port() {
	local p=$((20000 + RANDOM % 20000))
	while (exec 3<> "/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
		p=$((20000 + RANDOM % 20000))
	done
	echo "$p"
}
port=$(free_port)
mport=$port
while [ "$mport" = "$port" ]; do mport=$(free_port); done
cat > "$WORK/backup.conf" <<CONF
tls {
	certificate $WORK/certs/backup.test.crt
	key         $WORK/certs/backup.test.key
	ca          $WORK/certs/ca.crt
}
control { socket $WORK/backup.sock }
state-dir $WORK/backup-state
receive {
	listen 127.0.0.1:$port
	root   $DST/backup
	client laptop.test
}
CONF
cat > "$WORK/laptop.conf" <<CONF
tls {
	certificate $WORK/certs/laptop.test.crt
	key         $WORK/certs/laptop.test.key
	ca          $WORK/certs/ca.crt
}
control { socket $WORK/laptop.sock }
metrics listen 127.0.0.1:$mport
state-dir $WORK/laptop-state
target backup {
	address   127.0.0.1:$port
	name      backup.test
	bandwidth ${RATE_MIB}M
}
job home {
	source       $SRC/home
	snapshot-dir $SRC/snaps
	schedule     manual
	send-to      backup
}
CONF
mkdir -p "$DST/backup"
say "backup.conf, for the backup host (receives into $DST/backup):"
show < "$WORK/backup.conf"
say "laptop.conf, for the laptop (bandwidth ${RATE_MIB} MiB/s, so that step 8 can cut"
say "a transfer in the middle):"
show < "$WORK/laptop.conf"
for h in backup laptop; do
	out=$("$BTRSENDD" -n -f "$WORK/$h.conf" 2>&1) ||
		demo_fail "btrsendd -n rejected $h.conf: $out"
	say "btrsendd -n -f $h.conf: $out"
done

step "5. Start both daemons in the foreground, logging to files"
"$BTRSENDD" -d -v -f "$WORK/backup.conf" 2> "$WORK/backup.log" &
BACKUP_PID=$!
for i in $(seq 100); do
	grep -q "receiving into" "$WORK/backup.log" && break
	sleep 0.1
done
grep -q "receiving into" "$WORK/backup.log" || demo_fail "the backup's btrsendd did not start"
say "backup: btrsendd -d -v -f backup.conf   (pid $BACKUP_PID, log backup.log):"
show < "$WORK/backup.log"
"$BTRSENDD" -d -v -f "$WORK/laptop.conf" 2> "$WORK/laptop.log" &
LAPTOP_PID=$!
for i in $(seq 100); do
	grep -q "started with" "$WORK/laptop.log" && break
	sleep 0.1
done
grep -q "started with" "$WORK/laptop.log" || demo_fail "the laptop's btrsendd did not start"
say "laptop: btrsendd -d -v -f laptop.conf   (pid $LAPTOP_PID, log laptop.log):"
grep "started with" "$WORK/laptop.log" | show
AREA=$DST/backup/laptop.test/home
say "The backup keeps what laptop.test sends for job home in"
say "$AREA, and nothing of it anywhere else."

# ---------------------------------------------------------------- 6
step "6. First run: snapshot, full send"
l=$(log_len "$WORK/laptop.log"); r=$(log_len "$WORK/backup.log")
run_start
run_wait 1
S1=$(newest)
say "laptop.log:"
log_since "$WORK/laptop.log" $((l + 1)) "job home: run (started|ok)|sent |incremental|resum|target backup" | show
say "backup.log:"
log_since "$WORK/backup.log" $((r + 1)) "receiving |received " | show
grep -q "sent $S1 to backup, full" "$WORK/laptop.log" ||
	demo_fail "the first send of $S1 was not logged as full"
check_snapshot "$S1"
say "The laptop made the read-only snapshot $S1 and sent all of it"
say "(nothing on the backup to start from). treecmp finds the copy equal to its"
say "source: types, modes, owners, sizes, contents, symlink targets, devices,"
say "times to the nanosecond, every xattr (ACLs, capabilities) and hard links."

# ---------------------------------------------------------------- 7
step "7. Change files, run again: only the difference travels"
scenario_mutate "$SRC/home" 1
say "renamed, swapped, deleted, rewritten, punched holes in files under home/mut"
l=$(log_len "$WORK/laptop.log"); r=$(log_len "$WORK/backup.log")
run_start
run_wait 2
S2=$(newest)
[ "$S2" != "$S1" ] || demo_fail "run 2 made no new snapshot"
say "laptop.log:"
log_since "$WORK/laptop.log" $((l + 1)) "job home: run (started|ok)|sent |incremental|resum|target backup" | show
say "backup.log:"
log_since "$WORK/backup.log" $((r + 1)) "receiving |received " | show
grep -q "sent $S2 to backup, incremental from $S1" "$WORK/laptop.log" ||
	demo_fail "$S2 was not sent incrementally from $S1"
check_snapshot "$S2"
say "$S2 went as an incremental stream from $S1 (the newest"
say "snapshot both sides hold) and is equal to its source."

# ---------------------------------------------------------------- 8
step "8. A transfer cut in the middle resumes where it stopped"
dd if=/dev/urandom of="$SRC/home/big" bs=1M count=$BIG_MIB status=none ||
	demo_fail "writing $SRC/home/big"
say "A new $BIG_MIB MiB file; at $RATE_MIB MiB/s the next send takes about $((BIG_MIB / RATE_MIB)) s."
l=$(log_len "$WORK/laptop.log"); r=$(log_len "$WORK/backup.log")
run_start
# big_at MIB: wait until MIB MiB of the file are on the backup (in the
# partial); $part is its path there.
big_at() {
	local i
	for i in $(seq 600); do
		part=$(ls -d "$AREA"/.btrsend-partial.*/big 2>/dev/null | head -n 1)
		[ -n "$part" ] && [ "$(stat -c %s "$part" 2>/dev/null || echo 0)" -ge $(($1 << 20)) ] &&
			return 0
		[ "$(runs_ok)" -ge 3 ] && demo_fail "run 3 ended before it could be cut"
		sleep 0.1
	done
	demo_fail "run 3 never reached $1 MiB of big on the backup"
}
big_at 18
say "btrsendctl status -f laptop.conf, during the transfer:"
ctl status > "$WORK/status" || demo_fail "btrsendctl status during a transfer"
show < "$WORK/status"
grep -qi running "$WORK/status" || demo_fail "status does not show the running transfer"
# A durable checkpoint lies behind the cut.
big_at $KILL_MIB
# The newest child: a run may first open a short connection to ask what
# the backup holds, whose worker may not be gone yet.
worker=$(pgrep -n -P "$BACKUP_PID")
[ -n "$worker" ] || demo_fail "no receive worker under the backup's btrsendd"
kill -9 "$worker" || demo_fail "kill -9 $worker"
say "kill -9 $worker: the backup's receive worker dies with $(($(stat -c %s "$part") >> 20)) MiB of big written."
run_wait 3
S3=$(newest)
say "laptop.log:"
log_since "$WORK/laptop.log" $((l + 1)) "job home: run (started|ok)|sent |incremental|resum|send to|send: retry|target backup|go again" | show
say "backup.log:"
log_since "$WORK/backup.log" $((r + 1)) "receiv|partial|worker .* (exited|killed)" | show
line=$(log_since "$WORK/laptop.log" $((l + 1)) "$S3: resuming at command") ||
	demo_fail "the laptop did not resume $S3"
offset=$(sed -n 's/.*resuming at command [0-9]*, byte \([0-9]*\)$/\1/p' <<< "$line")
[ -n "$offset" ] && [ "$offset" -gt 0 ] ||
	demo_fail "$S3 resumed at byte '$offset', not from a checkpoint: $line"
line=$(log_since "$WORK/laptop.log" $((l + 1)) "$S3: [0-9]+ bytes sent before the cut go again") ||
	demo_fail "the laptop did not say what it sent again"
again=$(sed -n 's/.*: \([0-9]*\) bytes sent before the cut go again$/\1/p' <<< "$line")
check_snapshot "$S3"
say "The laptop reconnected by itself 1 s later; a new receive worker found the"
say "partial and answered that it holds the stream up to byte $offset ($((offset >> 20)) MiB)."
say "(A killed process leaves its writes in the page cache, so the backup picks up"
say "exactly where it stopped; after a crash of the whole machine it would go back"
say "to its last durable checkpoint.) The laptop re-ran the kernel's send, checked"
say "the digest of those $offset bytes against the backup's and skipped them; only"
say "what followed went over the wire."
if [ "$again" = 0 ]; then
	say "Nothing was sent twice: the backup had applied all that reached it."
else
	say "Sent twice because of the cut: $again bytes (sent, but not yet applied"
	say "on the backup when its worker died)."
fi
say "$S3 is complete and equal to its source."

# ---------------------------------------------------------------- 9
step "9. What the laptop's btrsendd says about its job"
say "btrsendctl status -f laptop.conf   (over the daemon's control socket):"
ctl status > "$WORK/status" || demo_fail "btrsendctl status: $(cat "$WORK/status")"
show < "$WORK/status"
grep -qE "^home .* ok " "$WORK/status" || demo_fail "status does not say the job's last run was ok"
say "btrsendctl snapshots -f laptop.conf home:"
ctl snapshots home > "$WORK/snapshots" || demo_fail "btrsendctl snapshots home"
show < "$WORK/snapshots"
for name in "$S1" "$S2" "$S3"; do
	grep -qE "^$name .* backup\$" "$WORK/snapshots" ||
		demo_fail "snapshots does not show $name as held by backup"
done
say "btrsendctl history -f laptop.conf:"
ctl history | show
[ "${PIPESTATUS[0]}" = 0 ] || demo_fail "btrsendctl history"
ctl history --json | grep -q "\"snapshot\":\"$S3\",[^}]*\"result\":\"ok\",[^}]*\"resumes\":1[,}]" ||
	demo_fail "history does not record run 3 as ok with one resume: $(ctl history --json)"
say "status: each job, its schedule, last run and result, per target;"
say "snapshots: the laptop's snapshots and which targets hold each;"
say "history: one line per run and target, with bytes sent and resumes (run 3: 1)."
say "The same for Prometheus: curl http://127.0.0.1:$mport/metrics (some lines):"
curl -sf "http://127.0.0.1:$mport/metrics" > "$WORK/metrics" ||
	demo_fail "no metrics at 127.0.0.1:$mport"
grep -E '^btrsend_(transfers_total|resumes_total|transferred_bytes_total|snapshots)\b' \
	"$WORK/metrics" | show
grep -qE '^btrsend_resumes_total\{[^}]*\} 1$' "$WORK/metrics" ||
	demo_fail "the metrics do not count the resume: $(grep resumes "$WORK/metrics")"
# Stop the laptop first, so no run starts while the backup is inspected.
kill -TERM "$LAPTOP_PID"
wait "$LAPTOP_PID" || demo_fail "the laptop's btrsendd exited with status $? after SIGTERM"
LAPTOP_PID=
say "SIGTERM: the laptop's btrsendd stopped cleanly: $(tail -n 1 "$WORK/laptop.log")"

# ---------------------------------------------------------------- 10
step "10. What the backup host holds"
say "btrfs subvolume list -R $DST   (R: received uuid)"
btrfs subvolume list -R "$DST" | show
say ""
printf '   %-24s %-38s %s\n' SNAPSHOT "UUID ON THE LAPTOP" "RECEIVED UUID ON THE BACKUP"
n=0
for name in $(ls "$SRC/snaps" | sort); do
	check_snapshot "$name"
	printf '   %-24s %-38s %s\n' "$name" \
		"$(btrfs subvolume show "$SRC/snaps/$name" | awk '/^[[:space:]]*UUID:/ { print $2 }')" \
		"$(btrfs subvolume show "$AREA/$name" | awk '/Received UUID:/ { print $3 }')"
	n=$((n + 1))
done
[ "$n" -ge 3 ] || demo_fail "only $n snapshots on the laptop"
extra=$(ls -A "$AREA" | grep -vxF -f <(ls "$SRC/snaps") || true)
[ -z "$extra" ] || demo_fail "the backup holds more than the laptop sent: $extra"
left=$(find "$DST/backup" -maxdepth 4 -name '.btrsend-*' | head -n 5)
[ -z "$left" ] || demo_fail "leftovers of the cut transfer on the backup: $left"
say ""
say "All $n snapshots are on the backup, read-only, each marked as received"
say "from its source (received uuid = the laptop's uuid, which is how the next"
say "incremental finds its base), equal to its source (treecmp), and no"
say "partial is left over."

# ---------------------------------------------------------------- 11
step "11. Get it back: a whole snapshot, and one file"
last=$(newest)
mkdir "$SRC/restored"
say "\$ btrsendctl restore --from backup --job home $last $SRC/restored"
"$CTL" restore -f "$WORK/laptop.conf" --from backup --job home "$last" \
	"$SRC/restored" 2>&1 | tail -n 3 | show
[ "${PIPESTATUS[0]}" = 0 ] || demo_fail "restore of $last failed"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$last" "$SRC/restored/$last" ||
	demo_fail "the restored $last differs from its source"
say "treecmp: $SRC/restored/$last equals $SRC/snaps/$last"
say "($(btrfs property get -ts "$SRC/restored/$last" ro), received uuid $(subvol_field "$SRC/restored/$last" "Received UUID"))"
mkdir "$SRC/one-file"
say "\$ btrsendctl restore --from backup --job home --path files/three-mib $last $SRC/one-file"
"$CTL" restore -f "$WORK/laptop.conf" --from backup --job home \
	--path files/three-mib "$last" "$SRC/one-file" 2>&1 | tail -n 3 | show
[ "${PIPESTATUS[0]}" = 0 ] || demo_fail "restore --path files/three-mib failed"
"$TOOLS/treecmp" "$SRC/snaps/$last/files/three-mib" "$SRC/one-file/three-mib" ||
	demo_fail "the restored files/three-mib differs from its source"
say "treecmp: $SRC/one-file/three-mib equals its source"

# ---------------------------------------------------------------- 12
step "12. Stop the backup and clean up"
kill -TERM "$BACKUP_PID"
wait "$BACKUP_PID" || demo_fail "the backup's btrsendd exited with status $? after SIGTERM"
BACKUP_PID=
say "Both daemons stopped; unmounting, detaching loop devices, removing"
say "$FIX_DIR."
demo_cleanup
echo
echo "${BOLD}demo: ok${PLAIN} ($SECONDS s)"
