# Restore against the local baselines, same machine, same run, caches
# dropped and `sync` on the receiving side included in every timing:
#   whole:  btrsendctl restore --from (TLS, loopback) of a snapshot of
#           $BENCH_MIB (1536) MiB, mixed: 100 MiB files, 3072 files of
#           64 KiB, 20000 small ones (incompressible)
#   progs:  btrfs send | btrfs receive of the backup host's copy of the
#           same snapshot into the same filesystem
#   path:   btrsendctl restore --path of one 100 MiB file of it
#   cp:     cp of that file from the backup host's copy
# Each way runs $BENCH_REPS (3) times, interleaved, the best time
# counting.  Goals (issue 17): progs/whole >= 0.9, path/cp < 2.
#
# The images live in /dev/shm, mounted nodiscard (see bench_net.sh: a
# deleted subvolume's pages would otherwise be punched out during the
# next timed run); one untimed receive fills the restore image first.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
fixture_init
mib=${BENCH_MIB:-1536}
reps=${BENCH_REPS:-3}
net_fixture d $((mib + 768))M $((mib + 1024))M nodiscard nodiscard
btrfs_fs RST $((mib * 2 + 1024))M nodiscard

# The data: incompressible (AES-CTR keystream), a few big files and
# many small ones.
btrfs -q subvolume create "$SRC/data" || fail "subvolume create"
key() { openssl enc -aes-128-ctr -nosalt -pass "pass:btrsend$1" -pbkdf2 -in /dev/zero 2>/dev/null; }
nbig=$(((mib - 192 - 20) / 100))
for i in $(seq 0 $((nbig - 1))); do
	key "big$i" | head -c $((100 << 20)) > "$SRC/data/big$i" || fail "making data"
done
mkdir "$SRC/data/medium" "$SRC/data/small"
key medium | head -c $((192 << 20)) | (cd "$SRC/data/medium" && split -a 4 -b 65536) ||
	fail "making medium files"
"$TOOLS/gen" -m 20000 bench:small "$SRC/data/small" || fail "making small files"
snap=home.20260101T000000Z
mkdir "$SRC/snaps"
btrfs -q subvolume snapshot -r "$SRC/data" "$SRC/snaps/$snap" || fail "snapshot"
total=$(du -sb "$SRC/snaps/$snap" | cut -f1)

net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_start_receiver "$d/recv.conf" "$d/recv.log"
net_send_conf -s "$d/cstate" "$d/client.conf"
timeout 600 "$CTL" send -f "$d/client.conf" --job home --to backup "$SRC/snaps/$snap" \
	> "$d/send.out" 2>&1 || fail "send: $(cat "$d/send.out")"
held=$DST/backup/laptop.test/home/$snap
file=big0
sync

# timed CMD...: wall milliseconds of CMD and a sync, caches dropped
# before (the backup host's copy is read from its image either way).
timed() {
	local t0 t1
	sync
	echo 3 > /proc/sys/vm/drop_caches
	t0=$(date +%s%N)
	"$@" > "$d/out" 2> "$d/err" ||
		{ cat "$d/out" "$d/err" >&2; tail -5 "$d/recv.log" >&2; fail "$*"; }
	sync
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}
drop() {	# drop PATH: delete what a run made
	if [ "$(stat -f -c %T "$1")" = btrfs ] && btrfs subvolume show "$1" >/dev/null 2>&1; then
		btrfs -q subvolume delete "$1" >/dev/null || fail "delete $1"
		btrfs -q subvolume sync "$RST" >/dev/null 2>&1
	else
		rm -rf "$1"
	fi
	sync
}
progs_pipe() { btrfs send -q "$held" | btrfs receive -q "$RST/w"; }
mkdir "$RST/w"

all_whole= all_progs= all_path= all_cp=
# way NAME: one timed run, checked, recorded, dropped.
way() {
	local t got cmp a=all_$1
	case $1 in
	whole)	t=$(timed "$CTL" restore -f "$d/client.conf" --from backup --job home "$snap" "$RST/w")
		got=$RST/w/$snap cmp=$SRC/snaps/$snap ;;
	progs)	t=$(timed progs_pipe)
		got=$RST/w/$snap cmp=$SRC/snaps/$snap ;;
	path)	t=$(timed "$CTL" restore -f "$d/client.conf" --from backup --job home --path "$file" "$snap" "$RST/w")
		got=$RST/w/$file cmp=$SRC/snaps/$snap/$file ;;
	cp)	t=$(timed cp "$held/$file" "$RST/w/$file")
		got=$RST/w/$file cmp=$SRC/snaps/$snap/$file ;;
	esac
	[ -n "$t" ] || exit 1
	if [ -d "$got" ]; then
		"$TOOLS/treecmp" --ignore-root-times --no-atime "$cmp" "$got" || fail "$1: differs"
	else
		cmp "$cmp" "$got" || fail "$1: $file differs"
	fi
	drop "$got"
	printf -v "$a" '%s %s' "${!a}" "$t"
}
# Untimed: the restore image's memory is allocated once, here.
progs_pipe || fail "warm-up: btrfs send | btrfs receive"
drop "$RST/w/$snap"
for rep in $(seq "$reps"); do
	if [ $((rep % 2)) = 1 ]; then
		way whole; way progs; way path; way cp
	else
		way progs; way whole; way cp; way path
	fi
done

best() { printf '%s\n' "$@" | sort -n | head -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
mbs() { awk -v b="$2" -v t="$1" 'BEGIN { printf "%.0f", b / 1048576 / (t / 1000) }'; }
t_whole=$(best $all_whole) t_progs=$(best $all_progs)
t_path=$(best $all_path) t_cp=$(best $all_cp)
fsize=$(stat -c %s "$held/$file")
echo "restore: snapshot of $total bytes ($nbig x 100 MiB, 3072 x 64 KiB, 20000 small; incompressible), best of $reps"
row() {	# row LABEL BEST ALL BYTES
	printf '  %-38s %7d ms %5s MiB/s  (wall ms:%s)\n' "$1" "$2" "$(mbs "$2" "$4")" "$3"
}
row "btrsendctl restore (TLS, whole)" "$t_whole" "$all_whole" "$total"
row "btrfs send | btrfs receive" "$t_progs" "$all_progs" "$total"
row "btrsendctl restore --path (100 MiB)" "$t_path" "$all_path" "$fsize"
row "cp of that file" "$t_cp" "$all_cp" "$fsize"
echo "  speed whole/progs $(ratio "$t_progs" "$t_whole") (goal >= 0.9); time path/cp $(ratio "$t_path" "$t_cp") (goal < 2)"
