# Fast-forward for resume: skipping the first N commands of a regenerated
# send succeeds when the digest of the skipped prefix matches and yields
# exactly the rest of the stream; a wrong digest, or N past the end, is
# refused as permanent.  The expected digest is computed here from a
# `btrfs send` file with sha256sum, following proto/stream/digest.h:
# d(0) = 32 zero bytes, d(n) = SHA-256(d(n-1) || framing unit n).
. "$(dirname "$0")/../lib/common.sh"
fixture_init
btrfs_fs A 512M
out=$(scratch_dir)

btrfs -q subvolume create "$A/src"
for i in $(seq 1 30); do echo "file $i" > "$A/src/f$i"; done
head -c 500000 /dev/urandom > "$A/src/big"
btrfs -q subvolume snapshot -r "$A/src" "$A/s1"
echo more >> "$A/src/f3"
btrfs -q subvolume snapshot -r "$A/src" "$A/s2"
btrfs -q send -f "$out/ref" "$A/s1" "$A/s2"

u32() { od -An -tu4 -j"$2" -N4 "$1" | tr -d ' '; }
u16() { od -An -tu2 -j"$2" -N2 "$1" | tr -d ' '; }

# walk FILE: one line "N OFFSET DIGEST TYPE" per command: the state after
# N commands (and the headers before them); TYPE is command N's type.
walk() {
	local f=$1 size off=0 n=0 d len type in_stream=0
	size=$(stat -c %s "$f")
	d=$(printf '%064d' 0)
	echo "0 0 $d -"
	while [ $off -lt "$size" ]; do
		if [ $in_stream = 0 ]; then
			len=17
			in_stream=1
		else
			len=10
		fi
		d=$( { printf '%s' "$d" | xxd -r -p; dd if="$f" bs=1 skip=$off \
		    count=$len status=none; } | sha256sum | cut -c1-64)
		if [ $len = 17 ]; then
			off=$((off + 17))
			continue
		fi
		type=$(u16 "$f" $((off + 4)))
		off=$((off + 10 + $(u32 "$f" $off)))
		n=$((n + 1))
		[ "$type" = 21 ] && in_stream=0
		echo "$n $off $d $type"
	done
}

walk "$out/ref" > "$out/walk"
total=$(stat -c %s "$out/ref")
[ "$(tail -n1 "$out/walk" | cut -d' ' -f2)" = "$total" ] ||
	fail "walking the reference stream did not end at its size"
# The first stream's END: the next unit is the second stream's header.
end1=$(awk '$4 == 21 { print $1; exit }' "$out/walk")
[ -n "$end1" ] || fail "no END in the reference stream"
for n in 0 7 $((end1 - 1)) $end1 $((end1 + 3)); do
	read -r _ off digest _ < <(awk -v n=$n '$1 == n' "$out/walk")
	"$TOOLS/send_tool" skip $n "$digest" "$out/rest.$n" "$A/s1" "$A/s2" ||
		fail "skip $n with the right digest was refused"
	tail -c +$((off + 1)) "$out/ref" | cmp - "$out/rest.$n" ||
		fail "after skipping $n commands the rest differs from btrfs send"
	note "skip $n: resumed at byte $off, digest $digest"
done
head -c 12 "$out/rest.$end1" | grep -q btrfs-stream ||
	fail "after the first END the rest does not start with a header"

# A wrong digest: one hex digit changed.
read -r _ off digest _ < <(awk '$1 == 7' "$out/walk")
case $digest in 0*) bad=1${digest#?} ;; *) bad=0${digest#?} ;; esac
"$TOOLS/send_tool" skip 7 "$bad" "$out/bad" "$A/s1" "$A/s2" 2> "$out/err" &&
	fail "skip with a wrong digest was accepted"
grep -q 'digest of the regenerated prefix.*\[permanent\]' "$out/err" ||
	fail "wrong-digest message: $(cat "$out/err")"
# The same digest but a different stream (only s1) is refused too.
"$TOOLS/send_tool" skip 7 "$digest" "$out/bad" "$A/s2" 2>/dev/null &&
	fail "skip accepted the digest of another stream"
# More commands than the stream has.
"$TOOLS/send_tool" skip 100000 "$digest" "$out/bad" "$A/s1" 2> "$out/err" &&
	fail "skip past the end was accepted"
grep -q 'has only' "$out/err" || fail "past-end message: $(cat "$out/err")"
# The identity a checkpoint is matched against: the uuids the stream
# carries (SUBVOL/SNAPSHOT uuid, parent uuid) and the clone sources.
uuid_of() { btrfs subvolume show "$1" | awk '$1 == "UUID:" { print $2 }'; }
"$TOOLS/send_tool" describe -p "$A/s1" "$A/s2" > "$out/desc" || fail "describe"
read -r path u pu c1 rest < "$out/desc"
btrfs -q send -p "$A/s1" -f "$out/inc" "$A/s2"
btrfs receive --dump -f "$out/inc" | grep -q "^snapshot .* uuid=$u .* parent_uuid=$pu " ||
	fail "describe says $u from $pu; the stream says: $(btrfs receive --dump -f "$out/inc" | head -1)"
[ "$u" = "$(uuid_of "$A/s2")" ] && [ "$pu" = "$(uuid_of "$A/s1")" ] ||
	fail "describe uuids $u $pu"
[ "$c1" = "$pu" ] && [ -z "$rest" ] || fail "-p is the only clone source: $c1 $rest"
"$TOOLS/send_tool" describe -c "$A/s1" "$A/s2" "$A/s1" > "$out/desc" || fail "describe -c"
[ "$(sed -n 1p "$out/desc" | cut -d' ' -f3)" = "$(uuid_of "$A/s1")" ] ||
	fail "-c s1 s2: parent of s2 is not s1: $(cat "$out/desc")"
[ "$(sed -n 2p "$out/desc" | wc -w)" = 5 ] ||
	fail "-c s1 s2 s1: s2 was not added to the clone sources: $(cat "$out/desc")"

echo "send fast-forward: ok"
