# bash completion of btrsendctl, sourced into bash and driven through
# COMP_WORDS/COMP_CWORD as bash does: commands come from the completed
# binary's --help (a command added to --help is offered at once), options
# (short and long) from its usage column, files after -f/-o, directories
# after -p/-c, job names from the configuration through btrsendd -nv, and
# (as root) from a running daemon's status --json through -s or -f.
. "$(dirname "$0")/../lib/common.sh"

[ -x "$CTL" ] && [ -x "$BTRSENDD" ] || fail "binaries not built (make integration)"
tmp=$(mktemp -d /tmp/btrsend-compl.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# complete WORD...: the sorted candidates for the last word, one per line.
complete_words() {
	BTRSEND_CONF=${BTRSEND_CONF:-/nonexistent} bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_btrsendctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP/daemon/ctl/completion.bash" "$@" |
		sed '/^$/d' | sort
}

expect() {   # expect WANT_FILE WHAT
	diff -u "$1" "$tmp/got" >&2 || fail "$2: completions differ (- want, + got)"
}

# Commands: what --help lists, by a parser of its own (sed, not awk).
"$CTL" --help | sed -n '/^commands:/,/^$/{s/^  \([a-z][a-z-]*\) .*/\1/p}' |
	sort > "$tmp/want"
[ "$(wc -l < "$tmp/want")" -ge 4 ] || fail "fewer than 4 commands in --help"
complete_words "$CTL" "" > "$tmp/got"
expect "$tmp/want" "btrsendctl <TAB>"
grep '^ver' "$tmp/want" > "$tmp/want.ver"
complete_words "$CTL" ver > "$tmp/got"
expect "$tmp/want.ver" "btrsendctl ver<TAB>"

# A binary whose --help gains a command: completion offers it unchanged.
cat > "$tmp/btrsendctl" <<SH
#!/bin/sh
"$CTL" "\$@" | sed 's/^commands:\$/commands:\n  frobnicate                                        new/'
SH
chmod +x "$tmp/btrsendctl"
complete_words "$tmp/btrsendctl" fro > "$tmp/got"
echo frobnicate > "$tmp/want"
expect "$tmp/want" "a new command in --help"

# Options of a command, from its usage column.
printf '%s\n' -f -v > "$tmp/want"
complete_words "$CTL" verify - > "$tmp/got"
expect "$tmp/want" "verify -<TAB>"
printf '%s\n' --to -c -o -p > "$tmp/want"
complete_words "$CTL" send - > "$tmp/got"
expect "$tmp/want" "send -<TAB>"
# Long options too: the admin commands' --json.
printf '%s\n' --json -f -n -s > "$tmp/want"
complete_words "$CTL" history - > "$tmp/got"
expect "$tmp/want" "history -<TAB>"
printf '%s\n' --json > "$tmp/want"
complete_words "$CTL" status --j > "$tmp/got"
expect "$tmp/want" "status --j<TAB>"

# Files after -f and -o, directories only after -p.
mkdir "$tmp/files" "$tmp/files/snapdir"
touch "$tmp/files/stream.1" "$tmp/files/stream.2" "$tmp/files/other"
printf '%s\n' "$tmp/files/stream.1" "$tmp/files/stream.2" > "$tmp/want"
complete_words "$CTL" dump -f "$tmp/files/str" > "$tmp/got"
expect "$tmp/want" "dump -f <TAB>"
complete_words "$CTL" send -o "$tmp/files/str" > "$tmp/got"
expect "$tmp/want" "send -o <TAB>"
echo "$tmp/files/snapdir" > "$tmp/want"
complete_words "$CTL" send -p "$tmp/files/" > "$tmp/got"
expect "$tmp/want" "send -p <TAB> (directories only)"

# Job names from the configuration, as btrsendd reads it.
{ cat "$TOP/conf/btrsend.conf.example"; cat <<'CONF'
job photos {
    source       /srv/pool/@photos
    snapshot-dir /srv/pool/.snapshots
    send-to      backup1
}
CONF
} > "$tmp/jobs.conf"
"$BTRSENDD" -n -f "$tmp/jobs.conf" 2> /dev/null || fail "test config invalid"
printf '%s\n' home photos > "$tmp/want"
for cmd in run pause unpause snapshots; do
	BTRSEND_CONF=$tmp/jobs.conf complete_words "$CTL" "$cmd" "" > "$tmp/got"
	expect "$tmp/want" "$cmd <TAB>"
done
echo photos > "$tmp/want"
BTRSEND_CONF=$tmp/jobs.conf complete_words "$CTL" run ph > "$tmp/got"
expect "$tmp/want" "run ph<TAB>"
# An unreadable config offers nothing rather than failing.
: > "$tmp/want"
BTRSEND_CONF=$tmp/absent.conf complete_words "$CTL" run "" > "$tmp/got"
expect "$tmp/want" "run <TAB> without a config"

# Job names and run ids from a running daemon, through -s or -f.
if [ "$(id -u)" = 0 ]; then
	cat > "$tmp/live.conf" <<CONF
state-dir $tmp/state
control { socket $tmp/ctl.sock }
job alpha { source /nonexistent/a
  snapshot-dir /nonexistent/s }
job beta { source /nonexistent/b
  snapshot-dir /nonexistent/s }
CONF
	BTRSENDD_TEST_HANG_JOB=alpha "$BTRSENDD" -d -f "$tmp/live.conf" \
		2> "$tmp/daemon.log" &
	dpid=$!
	trap 'kill $dpid 2>/dev/null; wait $dpid 2>/dev/null; rm -rf "$tmp"' EXIT
	for i in $(seq 50); do
		"$CTL" status -s "$tmp/ctl.sock" > /dev/null 2>&1 && break
		sleep 0.1
	done
	printf '%s\n' alpha beta > "$tmp/want"
	complete_words "$CTL" pause -s "$tmp/ctl.sock" "" > "$tmp/got"
	expect "$tmp/want" "pause -s SOCK <TAB> (from the daemon)"
	BTRSEND_CONF=$tmp/jobs.conf complete_words "$CTL" run -f "$tmp/live.conf" "" > "$tmp/got"
	expect "$tmp/want" "run -f CONF <TAB> (the daemon, not BTRSEND_CONF)"
	: > "$tmp/want"
	complete_words "$CTL" cancel -s "$tmp/ctl.sock" "" > "$tmp/got"
	expect "$tmp/want" "cancel <TAB> with nothing running"
	"$CTL" run -s "$tmp/ctl.sock" alpha > /dev/null || fail "run alpha"
	"$CTL" status -s "$tmp/ctl.sock" --json | python3 -c '
import json, sys
for r in json.load(sys.stdin)["running"]: print(r["id"])' > "$tmp/want"
	[ -s "$tmp/want" ] || fail "no running run to cancel"
	complete_words "$CTL" cancel -s "$tmp/ctl.sock" "" > "$tmp/got"
	expect "$tmp/want" "cancel <TAB> with a run going"
	kill $dpid
	wait $dpid
fi
echo "bash completion: ok"
