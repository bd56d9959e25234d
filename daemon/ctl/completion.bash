# bash completion for btrsendctl(8).
#
# Nothing here lists what btrsendctl can do: the commands and their
# options come from `btrsendctl --help` of the binary being completed; job
# names (and run ids for cancel) from the running daemon's `status --json`,
# or else from the canonical configuration `btrsendd -nv` prints, so
# completion follows the installed build, daemon and config.
# BTRSEND_CONF overrides the config (default /etc/btrsend/btrsend.conf).

# The commands, one per line, from the table `btrsendctl --help` prints.
_btrsendctl_commands()
{
	"$1" --help 2>/dev/null | awk '
		/^commands:/ { on = 1; next }
		on && /^  [a-z]/ { print $1; next }
		on && /^$/ { on = 0 }'
}

# The options in the usage column of command $2's line of --help.
_btrsendctl_options()
{
	"$1" --help 2>/dev/null |
	    awk -v c="$2" '$1 == c { $1 = ""; print }' |
	    grep -oE -- '(^|[][ |(])(-[A-Za-z]\b|--[a-z][a-z-]*)' |
	    tr -d '[]|( ' | sort -u
}

# btrsendd: next to btrsendctl in a build tree, in ../sbin when installed,
# else on PATH or in /usr/sbin.
_btrsendctl_daemon()
{
	local dir d
	dir=$(dirname -- "$(type -P -- "$1" || echo "$1")")
	for d in "$dir/btrsendd" "$dir/../sbin/btrsendd" \
	    "$(type -P btrsendd)" /usr/sbin/btrsendd; do
		[ -n "$d" ] && [ -x "$d" ] && { echo "$d"; return; }
	done
}

# Job names: from the running daemon (`status --json`, through -s or -f
# on the command line if given), else from the configuration file.
_btrsendctl_jobs()
{
	local d conf=${BTRSEND_CONF:-/etc/btrsend/btrsend.conf} jobs
	jobs=$(timeout 2 "$1" status "${@:2}" --json 2>/dev/null |
	    python3 -c 'import json, sys
for j in json.load(sys.stdin)["jobs"]: print(j["name"])' 2>/dev/null)
	if [ -n "$jobs" ]; then
		echo "$jobs"
		return
	fi
	d=$(_btrsendctl_daemon "$1")
	[ -n "$d" ] && [ -r "$conf" ] || return
	"$d" -nv -f "$conf" 2>/dev/null | sed -n 's/^job \(.*\) {$/\1/p'
}

# Target names of the configuration (-f CONF if typed, else BTRSEND_CONF).
_btrsendctl_targets()
{
	local d conf=${BTRSEND_CONF:-/etc/btrsend/btrsend.conf} i
	for ((i = 2; i < COMP_CWORD; i++)); do
		[ "${COMP_WORDS[i]}" = -f ] && conf=${COMP_WORDS[i + 1]}
	done
	d=$(_btrsendctl_daemon "$1")
	[ -n "$d" ] && [ -r "$conf" ] || return
	"$d" -nv -f "$conf" 2>/dev/null | sed -n 's/^target \(.*\) {$/\1/p'
}

# ls: the snapshots the backup host holds of the job typed (--from,
# --job, -f), and "latest"; asked over the network, so bounded in time.
_btrsendctl_remote_snapshots()
{
	local i args=()
	for ((i = 2; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-f|--from|--job) args+=("${COMP_WORDS[i]}" "${COMP_WORDS[i + 1]}") ;;
		esac
	done
	echo latest
	timeout 5 "$1" ls "${args[@]}" --json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin)["snapshots"]: print(s["name"])' 2>/dev/null
}

# -s SOCKET or -f CONF among the words typed so far.
_btrsendctl_where()
{
	local i
	for ((i = 2; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-s|-f) echo "${COMP_WORDS[i]}"; echo "${COMP_WORDS[i + 1]}" ;;
		esac
	done
}

_btrsendctl()
{
	local cur prev ctl cmd
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	ctl=${COMP_WORDS[0]}
	COMPREPLY=()

	if [ "$COMP_CWORD" -eq 1 ]; then
		mapfile -t COMPREPLY < <(compgen -W \
		    "$(_btrsendctl_commands "$ctl")" -- "$cur")
		return
	fi
	cmd=${COMP_WORDS[1]}
	case $prev in
	-f|-o|-s)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null
		return ;;
	-n|--path|--retries|--timeout|--limit)
		return ;;
	--from|--to)
		mapfile -t COMPREPLY < <(compgen -W \
		    "$(_btrsendctl_targets "$ctl")" -- "$cur")
		return ;;
	--job)
		mapfile -t COMPREPLY < <(compgen -W \
		    "$(_btrsendctl_jobs "$ctl") manual" -- "$cur")
		return ;;
	-p|-c)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		compopt -o filenames 2>/dev/null
		return ;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W \
		    "$(_btrsendctl_options "$ctl" "$cmd")" -- "$cur")
		return
	fi
	case $cmd in
	run|pause|unpause|snapshots)
		local where
		mapfile -t where < <(_btrsendctl_where)
		mapfile -t COMPREPLY < <(compgen -W \
		    "$(_btrsendctl_jobs "$ctl" "${where[@]}")" -- "$cur") ;;
	cancel)
		local where
		mapfile -t where < <(_btrsendctl_where)
		mapfile -t COMPREPLY < <(compgen -W "$(timeout 2 "$ctl" \
		    status "${where[@]}" --json 2>/dev/null | python3 -c '
import json, sys
for r in json.load(sys.stdin)["running"]: print(r["id"])' 2>/dev/null)" \
		    -- "$cur") ;;
	ls|restore)
		# the first word that is no option or its value: the snapshot
		local i n=0
		for ((i = 2; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in
			-f|--from|--job|--path|--retries|--timeout) ((i++)) ;;
			-*) ;;
			*) ((n++)) ;;
			esac
		done
		if [ "$n" -eq 0 ]; then
			mapfile -t COMPREPLY < <(compgen -W \
			    "$(_btrsendctl_remote_snapshots "$ctl")" -- "$cur")
		elif [ "$cmd" = restore ] && [ "$n" -eq 1 ]; then
			# DEST
			mapfile -t COMPREPLY < <(compgen -d -- "$cur")
			compopt -o filenames 2>/dev/null
		fi ;;
	send)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		compopt -o filenames 2>/dev/null ;;
	esac
}
complete -F _btrsendctl btrsendctl
