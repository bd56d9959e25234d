# bash completion of btrsendctl, sourced into bash and driven through
# COMP_WORDS/COMP_CWORD as bash does: commands come from the completed
# binary's --help (a command added to --help is offered at once), short
# options from its usage column, files after -f/-o, directories after
# -p/-c, job names from the configuration through btrsendd -nv.
. "$(dirname "$0")/../lib/common.sh"

[ -x "$CTL" ] && [ -x "$BTRSENDD" ] || fail "binaries not built (make CI=1)"
tmp=$(mktemp -d /tmp/btrsend-compl.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# complete WORD...: the sorted candidates for the last word, one per line.
complete_words() {
	BTRSEND_CONF=${BTRSEND_CONF:-/nonexistent} bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_btrsendctl
		printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP/daemon/completion.bash" "$@" |
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
printf '%s\n' -c -o -p > "$tmp/want"
complete_words "$CTL" send - > "$tmp/got"
expect "$tmp/want" "send -<TAB>"

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
echo "bash completion: ok"
