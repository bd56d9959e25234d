# btrsendd.service's CapabilityBoundingSet is what sending and receiving
# need, no more.  Run as systemd starts the unit's process (root, that
# bounding set, no inheritable caps, NoNewPrivileges), btrsendctl send and
# the receiver reproduce a full and an incremental scenario snapshot
# exactly: device nodes, fifos, sockets, foreign owners, set-id bits, file
# capabilities, ACLs, read-only directories, immutable and append-only
# files.  With any one capability removed, something fails or differs.
#
# The receiver is `btrsendctl receive` when this build has it, else
# btrfs receive (progs 6.2).  progs ignores FILEATTR and never reopens
# files by handle, so with it LINUX_IMMUTABLE is shown needed by the
# operation btrsend's receiver performs (FS_IOC_SETFLAGS, via chattr), and
# DAC_READ_SEARCH (open_by_handle_at) only once btrsendctl receive exists.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
for t in setpriv capsh chattr lsattr; do
	command -v $t >/dev/null || skip "$t not installed (make deps)"
done
TREECMP=$TOOLS/treecmp
[ -x "$TREECMP" ] && [ -x "$CTL" ] || fail "not built (make integration)"
WORK=$(scratch_dir)

unit=$TOP/systemd/btrsendd.service
read -ra CAPS <<< "$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")"
[ ${#CAPS[@]} -ge 1 ] || fail "no CapabilityBoundingSet in $unit"

if "$CTL" --help | grep -q '^  receive '; then
	RECEIVER=btrsendctl
	RECV=("$CTL" receive -q -f)
else
	RECEIVER=progs
	RECV=(btrfs -q receive -f)
fi
note "receiver: $RECEIVER"

# as_unit CAP... -- CMD...: CMD as the unit's process with only CAPs.
as_unit() {
	local set=-all c
	while [ "$1" != -- ]; do
		c=${1#CAP_}
		set+=",+${c,,}"
		shift
	done
	shift
	setpriv --bounding-set="$set" --inh-caps=-all --no-new-privs -- "$@"
}

without() {   # without CAP: the unit's capabilities but CAP, into REST
	local c
	REST=()
	for c in "${CAPS[@]}"; do [ "$c" = "$1" ] || REST+=("$c"); done
}

# The harness itself: the process gets exactly the unit's capabilities.
eff=$(as_unit "${CAPS[@]}" -- awk '/^CapEff/ { print $2 }' /proc/self/status)
got=$(capsh --decode="$eff" | sed 's/^.*=//' | tr ',' '\n' | sort | tr '\n' ' ')
want=$(printf '%s\n' "${CAPS[@]}" | tr 'A-Z' 'a-z' | sort | tr '\n' ' ')
[ "$got" = "$want" ] || fail "harness: effective caps '$got', want '$want'"

btrfs_fs S 1G
btrfs_fs R 1G
btrfs -q subvolume create "$S/src" || fail "subvolume create"
scenario_populate "$S/src" small
echo immutable > "$S/src/flag-i"
echo append > "$S/src/flag-a"
snap_ro "$S/src" "$S/s0"
scenario_mutate "$S/src" 1
# Flags that change on an existing inode travel as FILEATTR (v2).
chattr +i "$S/src/flag-i" && chattr +a "$S/src/flag-a" || fail "chattr"
snap_ro "$S/src" "$S/s1"

flags() { lsattr -d "$1" | cut -d' ' -f1 | tr -cd 'ia'; }

# round_trip NAME CAP...: send s0 and s1 (incremental) and receive them
# into $R/NAME with only CAPs; 0 when both arrive identical, else 1 with
# the first thing that went wrong in $WORK/NAME.why.
round_trip() {
	local name=$1 dst=$R/$1 why=$WORK/$1.why out f
	shift
	mkdir "$dst"
	as_unit "$@" -- "$CTL" send --proto 2 -o "$WORK/$name.full" "$S/s0" 2> "$why" ||
		return 1
	as_unit "$@" -- "$CTL" send --proto 2 -p "$S/s0" -o "$WORK/$name.inc" \
		"$S/s1" 2> "$why" || return 1
	as_unit "$@" -- "${RECV[@]}" "$WORK/$name.full" "$dst" 2> "$why" ||
		return 1
	out=$("$TREECMP" "$S/s0" "$dst/s0") || { echo "$out" > "$why"; return 1; }
	as_unit "$@" -- "${RECV[@]}" "$WORK/$name.inc" "$dst" 2> "$why" ||
		return 1
	out=$("$TREECMP" --ignore-root-times "$S/s1" "$dst/s1") ||
		{ echo "$out" > "$why"; return 1; }
	[ "$RECEIVER" = progs ] && return 0
	for f in flag-i flag-a; do
		[ "$(flags "$dst/s1/$f")" = "$(flags "$S/s1/$f")" ] ||
			{ echo "$f: flags '$(flags "$dst/s1/$f")'" > "$why"; return 1; }
	done
}

round_trip all "${CAPS[@]}" || {
	cat "$WORK/all.why" >&2
	fail "send/receive fails with the unit's capabilities (${CAPS[*]})"
}
note "the unit's ${#CAPS[@]} capabilities suffice for send and receive"

for drop in "${CAPS[@]}"; do
	if [ "$drop" = CAP_SETPCAP ]; then
		note "$drop: for the workers to empty their bounding sets (sandbox_recv.sh, sandbox_job.sh), not for send and receive"
		continue
	fi
	without "$drop"
	if [ "$RECEIVER" = progs ]; then
		case $drop in
		CAP_DAC_READ_SEARCH)
			note "$drop: for btrsendctl receive's open_by_handle_at, not checked with progs"
			continue ;;
		CAP_LINUX_IMMUTABLE)
			: > "$R/probe"
			as_unit "${CAPS[@]}" -- chattr +i "$R/probe" ||
				fail "chattr +i fails with the unit's capabilities"
			chattr -i "$R/probe"
			as_unit "${REST[@]}" -- chattr +i "$R/probe" 2> /dev/null &&
				fail "$drop is in CapabilityBoundingSet, but chattr +i works without it"
			note "without $drop: FS_IOC_SETFLAGS immutable refused"
			continue ;;
		esac
	fi
	round_trip "no-$drop" "${REST[@]}" &&
		fail "$drop is in CapabilityBoundingSet, but send and receive work without it"
	note "without $drop: $(head -n 1 "$WORK/no-$drop.why")"
done
echo "capability bounding set ($RECEIVER receiver): sufficient, each capability needed"
