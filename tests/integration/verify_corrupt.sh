# btrsendctl verify accepts real kernel streams (v1 full, v1 incremental,
# v2 --compressed-data) and, for every flipped byte or truncation point,
# exits 1 naming exactly the command that contains the damage (command
# boundaries taken from `verify --list` of the clean stream).
. "$(dirname "$0")/../lib/common.sh"
fixture_init
btrfs_fs A 512M
btrfs_fs Z 512M compress=zstd
S=$(scratch_dir)

populate() {    # populate DIR: small files, dirs, links, xattrs, a big file
	local d=$1
	mkdir -p "$d/dir/sub"
	echo hello > "$d/dir/f1"
	printf 'x%.0s' $(seq 1 3000) > "$d/dir/sub/f2"
	ln -s ../dir/f1 "$d/link"
	ln "$d/dir/f1" "$d/hard"
	mkfifo "$d/fifo"
	setfattr -n user.test -v value "$d/dir/f1"
	head -c $((5 * 1024 * 1024)) /dev/urandom > "$d/big"
	yes 'compressible line of text' | head -c $((3 * 1024 * 1024)) > "$d/text"
}

btrfs subvolume create "$A/sv" >/dev/null || fail "subvolume create"
populate "$A/sv"
btrfs subvolume snapshot -r "$A/sv" "$A/snap1" >/dev/null || fail "snapshot"
btrfs send -q -f "$S/full.v1" "$A/snap1" || fail "btrfs send"
echo more >> "$A/sv/dir/f1"
rm "$A/sv/dir/sub/f2"
mv "$A/sv/text" "$A/sv/dir/moved"
btrfs subvolume snapshot -r "$A/sv" "$A/snap2" >/dev/null || fail "snapshot 2"
btrfs send -q -p "$A/snap1" -f "$S/inc.v1" "$A/snap2" || fail "btrfs send -p"

btrfs subvolume create "$Z/sv" >/dev/null || fail "subvolume create (zstd)"
populate "$Z/sv"
sync
btrfs subvolume snapshot -r "$Z/sv" "$Z/csnap" >/dev/null || fail "snapshot (zstd)"
btrfs send -q --proto 2 --compressed-data -f "$S/comp.v2" "$Z/csnap" ||
	fail "btrfs send --proto 2 --compressed-data"

uuid_of() { btrfs subvolume show "$1" | awk '$1 == "UUID:" { print $2 }'; }

# Clean streams: exit 0 and a summary that matches what we sent (files
# are mapped, pipes read).
"$CTL" verify -f "$S/full.v1" > "$S/full.sum" || fail "verify rejects a clean v1 stream"
grep -q '^streams: 1 (version 1)$' "$S/full.sum" || fail "v1 summary: $(cat "$S/full.sum")"
grep -q "^subvol: snap1 uuid=$(uuid_of "$A/snap1") " "$S/full.sum" ||
	fail "v1 summary lacks the subvolume and its uuid"
cat "$S/inc.v1" | "$CTL" verify > "$S/inc.sum" || fail "verify rejects a clean incremental stream"
grep -q "^snapshot: snap2 uuid=$(uuid_of "$A/snap2") .* parent_uuid=$(uuid_of "$A/snap1") " \
	"$S/inc.sum" || fail "incremental summary lacks parent uuid: $(cat "$S/inc.sum")"
"$CTL" verify -f "$S/comp.v2" > "$S/comp.sum" || fail "verify rejects a clean v2 compressed stream"
grep -q '^streams: 1 (version 2)$' "$S/comp.sum" || fail "v2 summary: $(cat "$S/comp.sum")"
grep -Eq '^  encoded_write +[1-9]' "$S/comp.sum" || fail "no encoded_write in the v2 stream"
cat "$S/comp.v2" | "$CTL" verify > "$S/comp.pipe.sum" || fail "verify rejects a piped v2 stream"
diff <(tail -n +2 "$S/comp.sum") <(tail -n +2 "$S/comp.pipe.sum") >&2 ||
	fail "mapped and piped input summarize differently"
# Concatenated streams (send of two subvolumes without -e).
cat "$S/full.v1" "$S/inc.v1" | "$CTL" verify > "$S/cat.sum" || fail "verify rejects concatenated streams"
grep -q '^streams: 2 (version 1)$' "$S/cat.sum" || fail "concatenated summary: $(cat "$S/cat.sum")"
# Two subvolumes in one send: concatenated streams, or with -e one stream.
btrfs send -q -f "$S/two" "$A/snap1" "$A/snap2" || fail "btrfs send of two subvolumes"
"$CTL" verify -f "$S/two" > "$S/two.sum" || fail "verify rejects a two-subvolume send"
grep -q '^streams: 2 (version 1)$' "$S/two.sum" || fail "two-subvolume summary: $(cat "$S/two.sum")"
btrfs send -q -e -f "$S/two-e" "$A/snap1" "$A/snap2" || fail "btrfs send -e"
"$CTL" verify -f "$S/two-e" > "$S/two-e.sum" || fail "verify rejects a send -e stream"
grep -q '^streams: 1 (version 1)$' "$S/two-e.sum" || fail "send -e summary: $(cat "$S/two-e.sum")"
[ "$(grep -Ec '^(subvol|snapshot): snap[12] ' "$S/two-e.sum")" -eq 2 ] ||
	fail "send -e: want both subvolumes named: $(cat "$S/two-e.sum")"
grep -Eq '^  end +1$' "$S/two-e.sum" || fail "send -e: want one END"
# Data bytes agree with what btrfs receive --dump reports for writes.
want=$(btrfs receive --dump -f "$S/full.v1" | awk '$1 == "write" { sub("len=", "", $4); s += $4 } END { print s }')
grep -q "^data bytes: $want\$" "$S/full.sum" || fail "data bytes differ from receive --dump ($want)"

# The command containing byte offset X, from the clean stream's list.
cmd_of() { awk -v x="$2" '$2 <= x && x < $2 + 10 + $3 { print $1; found = 1; exit }
	END { if (!found) print "none" }' "$1"; }

# expect_bad FILE WHAT INDEX [pipe]: verify exits 1 and names command
# INDEX (or the stream header when INDEX is "header").  Files given with
# -f are mapped; "pipe" feeds a pipe instead (the read(2) path).
expect_bad() {
	local f=$1 what=$2 idx=$3 out rc
	if [ "${4:-}" = pipe ]; then
		out=$(cat "$f" | "$CTL" verify 2>&1 >/dev/null)
	else
		out=$("$CTL" verify -f "$f" 2>&1 >/dev/null)
	fi
	rc=$?
	[ $rc -eq 1 ] || fail "$what: exit $rc, want 1 ($out)"
	if [ "$idx" = header ]; then
		[[ $out == *"stream header at offset"* ]] || fail "$what: want a header error, got: $out"
	else
		[[ $out =~ :\ command\ $idx\ (\([a-z_]+\)\ )?at\ offset\ [0-9]+:\  ]] ||
			fail "$what: want command $idx, got: $out"
	fi
	[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || fail "$what: more than one line: $out"
}

flip() {        # flip FILE OFFSET: invert one byte in place
	local b
	b=$(xxd -s "$2" -l 1 -p "$1")
	printf "\\x$(printf %02x $((0x$b ^ 0xff)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

nflips=0
corrupt_all() { # corrupt_all STREAM: flips spread over every kind of byte
	local s=$1 list=$S/$(basename "$1").list work=$S/work n i off len idx x
	local -a offs=(0 5 12 13 16)
	"$CTL" verify -v -f "$s" | grep -E '^[0-9]+ [0-9]+ [0-9]+ ' > "$list"
	n=$(wc -l < "$list")
	[ "$n" -gt 10 ] || fail "$s: only $n commands"
	# Every ~n/12-th command plus the last (END): length, type, CRC,
	# first TLV header, its length, a middle and the last payload byte.
	for i in $(seq 0 $((n / 12 + 1)) $((n - 1))) $((n - 1)); do
		read -r idx off len _ < <(sed -n "$((i + 1))p" "$list")
		offs+=($off $((off + 3)) $((off + 4)) $((off + 6)) $((off + 9)))
		[ "$len" -gt 0 ] || continue
		offs+=($((off + 10)) $((off + 12)) $((off + 10 + len / 2)) $((off + 9 + len)))
	done
	# And some random ones.
	for i in $(seq 1 10); do
		offs+=($(( (RANDOM * 32768 + RANDOM) % $(stat -c %s "$s") )))
	done
	cp "$s" "$work"
	for x in "${offs[@]}"; do
		idx=$(cmd_of "$list" "$x")
		[ "$x" -lt 17 ] && idx=header
		[ "$idx" = none ] && fail "$s: offset $x is in no command"
		flip "$work" "$x"
		expect_bad "$work" "$(basename "$s") byte $x flipped" "$idx"
		[ $((nflips % 4)) -eq 0 ] &&
			expect_bad "$work" "$(basename "$s") byte $x flipped, piped" "$idx" pipe
		flip "$work" "$x"
		nflips=$((nflips + 1))
	done
	cmp -s "$s" "$work" || fail "flip/unflip did not restore $work"
	# Truncations: at command boundaries, inside headers and payloads.
	local -a cuts=(1 16 17)
	for i in $(seq 0 $((n / 8 + 1)) $((n - 1))) $((n - 1)); do
		read -r idx off len _ < <(sed -n "$((i + 1))p" "$list")
		cuts+=($off $((off + 1)) $((off + 9)) $((off + 10 + len - 1)))
	done
	for x in "${cuts[@]}"; do
		idx=$(cmd_of "$list" "$x")
		[ "$x" -lt 17 ] && idx=header
		head -c "$x" "$s" > "$work"
		expect_bad "$work" "$(basename "$s") cut at $x" "$idx"
		expect_bad "$work" "$(basename "$s") cut at $x, piped" "$idx" pipe
		if [ "$idx" != header ]; then
			read -r _ off _ < <(sed -n "$((idx + 1))p" "$list")
			msg=$("$CTL" verify -f "$work" 2>&1 >/dev/null)
			if [ "$x" -eq "$off" ]; then
				[[ $msg == *"without END"* ]] || fail "cut at boundary $x: $msg"
			else
				[[ $msg == *truncated* ]] || fail "cut at $x: $msg"
			fi
		fi
	done
	note "$(basename "$s"): $n commands, ${#offs[@]} flips, ${#cuts[@]} cuts"
}

corrupt_all "$S/full.v1"
corrupt_all "$S/comp.v2"
[ $nflips -ge 50 ] || fail "only $nflips flips"

# An empty input is an error too.
: > "$S/empty"
expect_bad "$S/empty" "empty input" header
# Usage errors exit 2.
"$CTL" verify --bogus 2>/dev/null; [ $? -eq 2 ] || fail "unknown option: want exit 2"
"$CTL" verify -f "$S/full.v1" extra 2>/dev/null; [ $? -eq 2 ] || fail "extra argument: want exit 2"
"$CTL" verify --help | grep -q '^usage: btrsendctl verify' || fail "--help"
echo "verify_corrupt: ok ($nflips flips)"
