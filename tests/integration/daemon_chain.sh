# Two real btrsendd on loopback btrfs, real TLS: a job `every 2s` runs
# eleven times with scenario mutations between runs.  Before the daemons
# start, the source holds six "old" snapshots (names dated from 800 days
# to 3 hours ago) that `btrsendctl send --to` has replicated, so the
# period rules of both policies have several hours, days, months and
# years to choose from.  After every run (sender paused):
#  * the new snapshot is on the target, equal to its source (treecmp),
#    read-only, with the source's uuid as received uuid;
#  * it followed the chain: its parent on the target (Parent UUID) is the
#    target's copy of the snapshot sent before it, and the sender logged
#    "incremental from" that one;
#  * both sides hold exactly what docs/retention.md says, computed here
#    by an independent python3 model from the snapshot names:
#    keep-source { hourly 2 daily 2 weekly 2 min-age 15s } (min-age keeps
#    a rolling window of recent runs, which are at least 2 s apart, so
#    early runs leave it; "now" is the new snapshot's time)
#    and keep-target { hourly 2 monthly 2 yearly 3 } (only yearly keeps
#    the snapshots 500 and 800 days old: PRUNE must carry it).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
command -v python3 >/dev/null || fail "python3 missing (make deps)"
net_fixture d 512M
net_source

# keep.py MINAGE_S NOW hourly daily weekly monthly yearly < names:
# the names kept, after docs/retention.md (rules 2-5; the caller adds
# pinned names to its input and they are kept as the newest).
cat > "$d/keep.py" <<'PY'
import sys, datetime as dt
min_age, now = int(sys.argv[1]), int(sys.argv[2])
counts = [int(x) for x in sys.argv[3:8]]
def parse(n):
    ts = n.split(".")[1]
    t = dt.datetime.strptime(ts, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    seq = int(n.split(".")[2]) if n.count(".") == 2 else 1
    return (t, seq, n)
def key(p, t):
    if p == 0: return (t.year, t.month, t.day, t.hour)
    if p == 1: return (t.year, t.month, t.day)
    if p == 2: return t.isocalendar()[:2]
    if p == 3: return (t.year, t.month)
    return t.year
snaps = sorted((parse(l.strip()) for l in sys.stdin if l.strip()), reverse=True)
keep = set()
if snaps:
    keep.add(snaps[0][2])
for t, seq, n in snaps:
    age = now - int(t.timestamp())
    if age < 0 or age < min_age:
        keep.add(n)
for p, c in enumerate(counts):
    seen = []
    for t, seq, n in snaps:
        if len(seen) == c:
            break
        if seen and seen[-1] == key(p, t):
            continue
        seen.append(key(p, t))
        keep.add(n)
print("\n".join(sorted(keep)))
PY
expect_src() { python3 "$d/keep.py" 15 "$1" 2 2 2 0 0; }
expect_dst() { python3 "$d/keep.py" 0 "$1" 2 0 0 2 3; }
name_time() { date -u -d "$(echo "$1" | sed -E 's/^home\.([0-9]{8})T([0-9]{2})([0-9]{2})([0-9]{2})Z.*/\1 \2:\3:\4/')" +%s; }

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_send_conf -s "$d/sstate" "$d/send.conf" "compress zstd"
net_job_conf "$d/send.conf" "every 2s" \
	"keep-source  { hourly 2 daily 2 weekly 2 min-age 15s }" \
	"keep-target  { hourly 2 monthly 2 yearly 3 }"
net_check_conf "$d/recv.conf" receiver
net_check_conf "$d/send.conf" sender
net_start_receiver "$d/recv.conf" "$d/recv.log"
rpid=$NET_RECV_PID

area=$DST/backup/laptop.test/home

# NAME on the target equals its source, read-only, received from it.
check_on_target() {
	[ -d "$area/$1" ] || fail "$1 not received: $(tail -10 "$d/send.log" 2>/dev/null)"
	check_received "$SRC/snaps/$1" "$area/$1"
}

# NAME on the target was made from PRED on the target (the chain); its
# uuid there was recorded on arrival, as keep-target may have pruned it.
check_parent() {
	[ "$(subvol_field "$area/$1" "Parent UUID")" = "$prev_uuid" ] ||
		fail "$1: parent uuid $(subvol_field "$area/$1" "Parent UUID") is not $2's ($prev_uuid)"
}

# The old history: six snapshots, each after a round of changes,
# replicated by hand (the first in full, then incrementally).
now=$(date -u +%s)
planted=
round=0
for ago in $((800 * 86400)) $((500 * 86400)) $((200 * 86400)) \
	   $((60 * 86400)) $((26 * 3600)) $((3 * 3600)); do
	round=$((round + 1))
	scenario_mutate "$SRC/src" $round
	n=home.$(date -u -d "@$((now - ago))" +%Y%m%dT%H%M%SZ)
	btrfs -q subvolume snapshot -r "$SRC/src" "$SRC/snaps/$n"
	timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 2 \
		--to backup "$SRC/snaps/$n" > "$d/manual.out" 2>&1 ||
		fail "btrsendctl send $n: $(cat "$d/manual.out")"
	check_on_target "$n"
	[ -z "$planted" ] || check_parent "$n" "$prev"
	planted="$planted $n"
	prev=$n
	prev_uuid=$(subvol_uuid "$area/$n")
done
model_src=$(printf '%s\n' $planted | sort)
model_dst=$model_src
scenario_mutate "$SRC/src" 7

net_start_sender "$d/send.conf" "$d/send.log"
spid=$NET_SEND_PID

runs=11
window=0
mades=
for run in $(seq $runs); do
	net_wait_sender "job home: run ok" $run 30
	net_pause_sender
	grep -q "run did not complete" "$d/send.log" &&
		fail "run $run: a run failed: $(grep "run did not complete" "$d/send.log")"
	made=$(grep "job home: run ok: snapshot" "$d/send.log" | sed -n "${run}p" |
		sed -E 's/.*run ok: snapshot ([^ ,]*),.*/\1/')
	case $made in home.*) ;; *) fail "run $run: no snapshot name in the log" ;; esac
	check_on_target "$made"
	check_parent "$made" "$prev"
	prev_uuid=$(subvol_uuid "$area/$made")
	grep -q "sent $made to backup, incremental from $prev\$" "$d/send.log" ||
		fail "run $run: $made not logged as incremental from $prev: $(grep "sent $made" "$d/send.log")"
	[ "$(grep -c ": sent home\.[^ ]* to backup, " "$d/send.log")" = $run ] ||
		fail "run $run: more sends than runs: $(grep ": sent home" "$d/send.log")"

	t=$(name_time "$made")
	model_src=$(printf '%s\n' $model_src "$made" | expect_src "$t")
	model_dst=$(printf '%s\n' $model_dst "$made" | expect_dst "$t")
	got=$(ls "$SRC/snaps" | sort)
	[ "$got" = "$model_src" ] ||
		fail "run $run: source holds [$(echo $got)], keep-source says [$(echo $model_src)]"
	got=$(ls "$area" | sort)
	[ "$got" = "$model_dst" ] ||
		fail "run $run: target holds [$(echo $got)], keep-target says [$(echo $model_dst)]"
	# min-age keeps the run before this one when it is recent enough.
	[ $run -gt 1 ] && echo "$model_src" | grep -qx "$prev" && window=1
	note "run $run: $made; source keeps $(echo "$model_src" | wc -l), target $(echo "$model_dst" | wc -l)"
	prev=$made
	mades="$mades $made"
	scenario_mutate "$SRC/src" $((run + 7))
	kill -CONT $spid
done

# The policies did something: both sides dropped old snapshots, the
# source's rolling min-age window kept more than one run at some point,
# and yearly kept the two oldest on the target only.
grep -q "pruned home/.* by keep-target" "$d/recv.log" || fail "receiver logged no keep-target pruning"
oldest=$(printf '%s\n' $planted | sed -n 1p)
second=$(printf '%s\n' $planted | sed -n 2p)
[ -d "$area/$oldest" ] && [ -d "$area/$second" ] ||
	fail "keep-target yearly 3 did not keep $oldest and $second"
[ -d "$SRC/snaps/$oldest" ] && fail "keep-source kept $oldest"
[ $window = 1 ] || fail "min-age never kept an older run: the check is vacuous"
for m in $mades; do
	echo "$model_src" | grep -qx "$m" || dropped=1
done
[ "${dropped:-0}" = 1 ] || fail "keep-source never dropped a run's snapshot: the check is vacuous"
note "$runs runs along the chain; retention as modelled on both sides"
echo "daemon_chain: ok"
