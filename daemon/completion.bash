# bash completion for btrsendctl(8).
#
# Nothing here lists what btrsendctl can do: the commands and their short
# options come from `btrsendctl --help` of the binary being completed, and
# job names from the canonical configuration `btrsendd -nv` prints, so
# completion follows the installed build and config.
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
	    grep -o -- '-[A-Za-z]\b' | sort -u
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

_btrsendctl_jobs()
{
	local d conf=${BTRSEND_CONF:-/etc/btrsend/btrsend.conf}
	d=$(_btrsendctl_daemon "$1")
	[ -n "$d" ] && [ -r "$conf" ] || return
	"$d" -nv -f "$conf" 2>/dev/null | sed -n 's/^job \(.*\) {$/\1/p'
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
	-f|-o)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		compopt -o filenames 2>/dev/null
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
		mapfile -t COMPREPLY < <(compgen -W \
		    "$(_btrsendctl_jobs "$ctl")" -- "$cur") ;;
	send)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		compopt -o filenames 2>/dev/null ;;
	esac
}
complete -F _btrsendctl btrsendctl
