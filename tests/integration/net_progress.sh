# Progress totals of `btrsendctl send --to` (stderr not a terminal: plain
# lines).  The metadata-only estimate pass must predict the stream size
# within 10% for a full and an incremental send, v1 and v2; the "done"
# byte count must equal the stream size, which `btrsendctl send -o`
# writes for the same snapshot and parent (btrfs send's bytes, plus the
# inode flags of a full v2 stream: send_identical.sh).  --no-estimate
# reports an unknown total and no percent.  On a terminal (script(1)),
# a rate-limited send shows a refreshed line with percent and ETA.
# NET_PROGRESS_SIZE=small|medium|large picks the scenario (default small).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 1G
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_send_conf "$d/send.conf"
net_start_receiver "$d/recv.conf" "$d/recv.log"

net_source "${NET_PROGRESS_SIZE:-small}"

# check NAME PARENT|- PROTO [ARGS...]: send, compare totals with progs
check() {
	local name=$1 parent=$2 proto=$3 pargs=() total done est secs
	shift 3
	snap_ro "$SRC/src" "$SRC/snaps/$name"
	[ "$parent" = - ] || pargs=(-p "$SRC/snaps/$parent")
	timeout 300 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
		--proto "$proto" "${pargs[@]}" "$@" --to backup "$SRC/snaps/$name" \
		> "$d/out" 2> "$d/err" || fail "send $name: $(cat "$d/err")"
	# The stream written to a file by the same engine: btrfs send's bytes,
	# plus the inode flags btrsend adds to a full v2 stream
	# (send_identical.sh checks that that is the only difference).
	# shellcheck disable=SC2046
	"$CTL" send --proto "$proto" "${pargs[@]}" $(printf '%s\n' "$@" | grep -x -- --compressed-data) \
		-o - "$SRC/snaps/$name" 2>/dev/null |
		wc -c > "$d/progs" || fail "btrsendctl send -o $name"
	total=$(cat "$d/progs")
	done=$(sed -n "s/^btrsendctl: send: .*$name: \([0-9]*\) bytes done,.*/\1/p" "$d/err")
	[ "$done" = "$total" ] ||
		fail "$name: progress says $done bytes done, the stream is $total: $(cat "$d/err")"
	grep -q " $total bytes)" "$d/out" || fail "$name: outcome line: $(cat "$d/out")"
	line=$(grep "^btrsendctl: send: .*$name: total " "$d/err") ||
		fail "$name: no total line: $(cat "$d/err")"
	est=$(echo "$line" | sed -n 's/.*: total \([0-9]*\) bytes .*/\1/p')
	case $line in
	*"(estimate, "*)
		secs=$(echo "$line" | sed -n 's/.*(estimate, \([0-9.]*\) s)/\1/p')
		awk -v e="$est" -v t="$total" 'BEGIN { r = e / t; exit !(r > 0.9 && r < 1.1) }' ||
			fail "$name: estimate $est vs stream $total"
		grep -q "100%" "$d/err" || fail "$name: no 100% at the end: $(cat "$d/err")"
		note "$name (v$proto, parent $parent): estimate $est, stream $total, ratio $(awk -v e="$est" -v t="$total" 'BEGIN { printf "%.4f", e / t }'), estimate pass $secs s" ;;
	*"(unknown)"*)
		[ "$est" = 0 ] || fail "$name: unknown total but $est"
		grep -q "%" "$d/err" && fail "$name: percent without a total: $(cat "$d/err")"
		note "$name: no estimate, stream $total" ;;
	*)	fail "$name: total line: $line" ;;
	esac
}

check home.1 - 1
scenario_mutate "$SRC/src" 1
check home.2 home.1 1
scenario_mutate "$SRC/src" 2
check home.3 home.2 2
check home.4 - 2 --compressed-data
scenario_mutate "$SRC/src" 3
check home.5 home.4 1 --no-estimate
grep -q "(unknown)" "$d/err" || fail "--no-estimate: $(cat "$d/err")"

# On a terminal (script(1) gives it one): a refreshed line with bytes,
# total, rate, percent and ETA, ending at 100%.
command -v script > /dev/null || skip "script(1) missing"
snap_ro "$SRC/src" "$SRC/snaps/home.6"
timeout 120 script -qfec "$CTL send -f $d/send.conf --job tty --retries 0 --limit 8M --to backup $SRC/snaps/home.6" /dev/null \
	> "$d/tty" 2>&1 || fail "send on a terminal: $(cat "$d/tty")"
tr '\r' '\n' < "$d/tty" > "$d/lines"
grep -aqE '^[0-9.]+ MiB of [0-9.]+ MiB  [0-9.]+ [KM]iB/s +[0-9]+%  ETA [0-9]{2}:[0-9]{2}:[0-9]{2} \(est\.\)' "$d/lines" ||
	fail "no progress line with percent and ETA: $(head -c 2000 "$d/lines")"
[ "$(grep -ac 'ETA' "$d/lines")" -ge 3 ] || fail "the line was not refreshed: $(cat "$d/lines")"
grep -aq ' 100% (est\.)' "$d/lines" || fail "no 100% at the end: $(tail -3 "$d/lines")"
grep -aq "^btrsendctl: send: .*bytes" "$d/lines" && fail "plain lines on a terminal"
echo "net_progress: ok"
