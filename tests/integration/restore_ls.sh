# The backup host serves reads of a client's own area (real TLS, real
# btrfs): `btrsendctl ls --from` lists the job's snapshots newest last,
# a directory and a single file of one; a symlink on the way of an LS
# path is refused by name, not followed; a second client (desktop.test)
# sees nothing of laptop.test's (the very answers of a name that does
# not exist) and cannot list or restore it.  RESTORE sends the whole
# snapshot as a kernel stream (taken by tests/lib/restorepeer, checked by
# `btrfs receive`): in full without a base, incremental from the newest
# older snapshot whose uuid the client offers; BEGIN names the snapshot
# as the stream's first command does.  Nothing in the area changes for
# any of it, also when a restore is cut, and no directory appears for a
# job that does not exist.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 1G 1G "" compress=zstd
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup" "client desktop.test"
net_send_conf "$d/laptop.conf"
net_send_conf -c desktop "$d/desktop.conf"
: > "$d/recv.log"
net_start_receiver "$d/recv.conf" "$d/recv.log"

net_source
mkdir -p "$SRC/src/dir/sub"
echo hello > "$SRC/src/dir/sub/file"
printf 'x%.0s' $(seq 3000) > "$SRC/src/dir/big"
ln -s /etc "$SRC/src/esc"               # points outside the snapshot
ln -s dir "$SRC/src/indir"              # points inside: not followed either
mkdir "$SRC/src/pages"                   # more than one LS page (4096 entries)
(cd "$SRC/src/pages" && seq -f 'f%05g' 5000 | xargs touch)
printf 'x' > "$SRC/src/dir/$(printf 'bad\033[2Jname\nx')"
s1=home.20260101T000000Z s2=home.20260102T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$s1"
scenario_mutate "$SRC/src" 1
echo changed > "$SRC/src/dir/sub/file"
# Inode flags reach the backup host only in an incremental stream.
chattr +d "$SRC/src/dir/sub/file" && chattr +A "$SRC/src/dir/sub" || fail "chattr"
snap_ro "$SRC/src" "$SRC/snaps/$s2"
for s in $s1 $s2; do	# FILEATTR is a command of version 2
	timeout 120 "$CTL" send -f "$d/laptop.conf" --job home --retries 0 --proto 2 \
		--to backup "$SRC/snaps/$s" > "$d/out" 2>&1 || fail "send $s: $(cat "$d/out")"
done
area=$DST/backup/laptop.test
[ -d "$area/home/$s2" ] || fail "setup: $s2 not received"

listing() {	# every entry of the receive root, with what a write changes
	find "$DST/backup" -printf '%p %y %s %m %U %G %T@ %C@\n' | sort
}
ls_() {		# ls_ CLIENT ARGS...: btrsendctl ls as CLIENT, out/err to files
	local who=$1
	shift
	timeout 60 "$CTL" ls -f "$d/$who.conf" --from backup "$@" > "$d/ls.out" 2> "$d/ls.err"
}
# The receive worker makes a client's (empty) area when it connects,
# before any request: desktop's first connection makes it.
ls_ desktop --job home || fail "desktop ls: $(cat "$d/ls.err")"
[ -d "$DST/backup/desktop.test" ] || fail "desktop has no area"
listing > "$d/before"

# The job's snapshots, oldest first: the newest is the last line.
ls_ laptop --job home || fail "ls: $(cat "$d/ls.err")"
note "$(cat "$d/ls.out")"
[ "$(sed -n 2p "$d/ls.out" | awk '{print $1}')" = "$s1" ] &&
[ "$(tail -1 "$d/ls.out" | awk '{print $1}')" = "$s2" ] ||
	fail "ls order: $(cat "$d/ls.out")"
tail -1 "$d/ls.out" | grep -qE "^$s2 +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} +-$" ||
	fail "ls line: $(tail -1 "$d/ls.out")"
ls_ laptop --job home --json || fail "ls --json: $(cat "$d/ls.err")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [s["name"] for s in d["snapshots"]] == sys.argv[2:], d' \
	"$d/ls.out" "$s1" "$s2" || fail "ls --json: $(cat "$d/ls.out")"

# The root of the newest (latest), a directory, a file, a symlink.
ls_ laptop --job home latest || fail "ls latest: $(cat "$d/ls.err")"
(cd "$SRC/snaps/$s2" && ls -A | sort) > "$d/want"
awk '{print $NF}' "$d/ls.out" | sed 's/^.* -> //' > /dev/null
grep -v -- ' -> ' "$d/ls.out" | awk '{print $NF}' > "$d/got.plain"
grep -- ' -> ' "$d/ls.out" | awk '{print $(NF-2)}' > "$d/got.links"
sort "$d/got.plain" "$d/got.links" | diff "$d/want" - > /dev/null ||
	fail "ls latest: $(sort "$d/got.plain" "$d/got.links" | diff "$d/want" -)"
grep -qE '^lrwxrwxrwx +1 +0 +0 +4 .* esc -> /etc$' "$d/ls.out" ||
	fail "ls esc: $(grep esc "$d/ls.out")"
ls_ laptop --job home "$s2" /dir/sub || fail "ls dir: $(cat "$d/ls.err")"
grep -qE '^-rw-r--r-- +1 +0 +0 +8 [0-9-]+ [0-9:]+ file$' "$d/ls.out" ||
	fail "ls dir/sub: $(cat "$d/ls.out")"
[ "$(wc -l < "$d/ls.out")" = 1 ] || fail "ls dir/sub: $(cat "$d/ls.out")"
ls_ laptop --job home "$s1" dir/big || fail "ls file: $(cat "$d/ls.err")"
grep -qE '^-rw-r--r-- +1 +0 +0 +3000 .* big$' "$d/ls.out" || fail "ls file: $(cat "$d/ls.out")"
ls_ laptop --job home --json "$s1" dir/sub/file || fail "ls --json file"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d["entries"]; assert len(e)==1 and e[0]["name"]=="file" and e[0]["size"]==6 and e[0]["type"]=="file", d' \
	"$d/ls.out" || fail "ls --json file: $(cat "$d/ls.out")"

# Paged: every entry once.
ls_ laptop --job home "$s2" pages || fail "ls pages: $(cat "$d/ls.err")"
[ "$(awk '{print $NF}' "$d/ls.out" | sort -u | wc -l)" = 5000 ] &&
[ "$(wc -l < "$d/ls.out")" = 5000 ] || fail "ls pages: $(wc -l < "$d/ls.out") lines"
# A name with control bytes is printed escaped.
ls_ laptop --job home "$s2" dir || fail "ls dir: $(cat "$d/ls.err")"
grep -qF ' bad\x1b[2Jname\nx' "$d/ls.out" || fail "escaped name: $(cat -v "$d/ls.out")"
grep -q "$(printf '\033')" "$d/ls.out" && fail "a raw escape reached the terminal"

# A symlink on the way is refused, naming it, and never followed.
for p in esc/passwd indir/sub; do
	ls_ laptop --job home "$s2" "$p" && fail "ls $p followed a symlink: $(cat "$d/ls.out")"
	grep -q "denied error: home/$s2: ${p%%/*} is a symbolic link on the backup host; it is not followed" "$d/ls.err" ||
		fail "ls $p: $(cat "$d/ls.err")"
	[ -s "$d/ls.out" ] && fail "ls $p printed: $(cat "$d/ls.out")"
done
ls_ laptop --job home "$s2" ../x && fail "ls ../x accepted"
ls_ laptop --job home "$s2" dir/nosuch && fail "ls of a missing path"
grep -q "not-found error: home/$s2: no dir/nosuch in it" "$d/ls.err" || fail "ls nosuch: $(cat "$d/ls.err")"

# Nothing of laptop's exists for desktop: the answers of a name that
# does not exist, word for word.
ls_ laptop --job nosuch && [ ! -s "$d/ls.out" ] || fail "ls of an unknown job: $(cat "$d/ls.out" "$d/ls.err")"
sed 's/nosuch/home/' "$d/ls.err" > "$d/none"
ls_ desktop --job home || fail "desktop ls: $(cat "$d/ls.err")"
[ ! -s "$d/ls.out" ] && diff "$d/none" "$d/ls.err" || fail "desktop sees: $(cat "$d/ls.out" "$d/ls.err")"
ls_ laptop --job home home.20990101T000000Z dir && fail "ls of a snapshot that does not exist"
sed 's/home.20990101T000000Z/'"$s2"'/g' "$d/ls.err" > "$d/none"
grep -q "not-found error: no snapshot home.20990101T000000Z of job home" "$d/ls.err" || fail "ls unknown: $(cat "$d/ls.err")"
ls_ desktop --job home "$s2" dir && fail "desktop listed laptop's snapshot: $(cat "$d/ls.out")"
diff "$d/none" "$d/ls.err" || fail "desktop's answer differs from that for a name that does not exist"
ls_ desktop --job home latest && fail "desktop: latest of laptop's job"

peer() {	# peer CLIENT ARGS...: restorepeer as CLIENT
	local who=$1
	shift
	timeout 120 "$TOOLS/restorepeer" -c "$NET_CERTS/$who.test.crt" \
		-k "$NET_CERTS/$who.test.key" -a "$NET_CERTS/ca.crt" \
		-H backup.test -p "$NET_PORT" -j home "$@"
}
peer desktop -s "$s2" > "$d/r.out" 2>&1 && fail "desktop restored laptop's snapshot: $(cat "$d/r.out")"
grep -q "refused: peer reports not-found error: no snapshot $s2 of job home on this backup host" "$d/r.out" ||
	fail "desktop restore: $(cat "$d/r.out")"

# A whole snapshot in full: a kernel stream that btrfs receive applies,
# equal to the source; BEGIN as the stream's first command names it.
net_log_mark "$d/recv.log"
peer laptop -s "$s1" -C -o "$d/s1.stream" > "$d/r.out" 2>&1 || fail "restore $s1: $(cat "$d/r.out") / backup host: $(tail -8 "$d/recv.log")"
note "$(cat "$d/r.out")"
net_log_says "laptop.test: restore home/$s1 done: [0-9]+ commands, [0-9]+ bytes sent" "restore done log"
grep -q "laptop.test: restore home/$s1 full" "$d/recv.log" || fail "no restore line: $(tail "$d/recv.log")"
grep -q "parent - flags 0x1 version [23] " "$d/r.out" ||
	fail "full restore: a parent, or not v2 with compressed data: $(cat "$d/r.out")"
first=$(btrfs receive --dump -f "$d/s1.stream" | head -1)
note "first command: $first"
read -r _ name _ u _ ct _ <<< "$(head -1 "$d/r.out")"
echo "$first" | grep -q "uuid=$u transid=$ct\b" || fail "BEGIN $u $ct, stream: $first"
[ "$u" = "$(subvol_uuid "$SRC/snaps/$s1")" ] || fail "BEGIN uuid $u is not the source's"
mkdir "$SRC/r1"
btrfs receive -f "$d/s1.stream" "$SRC/r1" > /dev/null 2>&1 || fail "btrfs receive of the restore stream"
"$TOOLS/treecmp" "$SRC/snaps/$s1" "$SRC/r1/$s1" || fail "restored $s1 differs"
check_received "$SRC/snaps/$s1" "$SRC/r1/$s1"

# Incremental: the client holds s1 (its uuid is the backup's received uuid).
peer laptop -s "$s2" -u "$(subvol_uuid "$SRC/snaps/$s1")" -o "$d/s2.stream" > "$d/r.out" 2>&1 ||
	fail "restore $s2: $(cat "$d/r.out")"
net_log_says "laptop.test: restore home/$s2 from $s1" "incremental restore log"
grep -q "parent $(subvol_uuid "$SRC/snaps/$s1") " "$d/r.out" || fail "no parent: $(cat "$d/r.out")"
btrfs receive --dump -f "$d/s2.stream" | head -1 | grep -q "^snapshot" || fail "not incremental"
mkdir "$SRC/r2"
btrfs receive -f "$d/s2.stream" "$SRC/r2" > /dev/null 2>&1 || fail "btrfs receive of the incremental"
# (the root's times, as in net_transfer.sh: not in an incremental stream)
check_received "$SRC/snaps/$s2" "$SRC/r2/$s2"
[ "$(stat -c %s "$d/s2.stream")" -lt "$(stat -c %s "$d/s1.stream")" ] || fail "incremental not smaller"
# Resumed after 100 commands: the rest, appended to those, is the stream.
peer laptop -s "$s1" -C -R "$d/s1.stream:100" -o "$d/s1.rest" > "$d/r.out" 2>&1 ||
	fail "resume: $(cat "$d/r.out") / $(tail -3 "$d/recv.log")"
at=$(sed -n 's/^resume at 100, byte \([0-9]*\)$/\1/p' "$d/r.out")
[ -n "$at" ] || fail "resume: $(cat "$d/r.out")"
cat <(head -c "$at" "$d/s1.stream") "$d/s1.rest" | cmp - "$d/s1.stream" ||
	fail "the resumed stream differs"
net_log_says "laptop.test: restore home/$s1: resuming at command 100, byte $at" "resume log"
# A partial that is no prefix of this stream: refused, the client told to
# discard it.
peer laptop -s "$s1" -C -R "$d/s2.stream:100" > "$d/r.out" 2>&1 && fail "a foreign partial resumed"
grep -q "stream error: cannot resume home/$s1 at command 100: .*; discard the partial and ask again" "$d/r.out" ||
	fail "foreign partial: $(cat "$d/r.out")"
# An unknown uuid is no base: full.
peer laptop -s "$s2" -u 01234567-89ab-cdef-0123-456789abcdef -o "$d/s2full.stream" > "$d/r.out" 2>&1 ||
	fail "restore: $(cat "$d/r.out")"
grep -q "parent - " "$d/r.out" || fail "a base the client does not have: $(cat "$d/r.out")"
# A full kernel stream has no inode flags: the backup host adds them.
btrfs receive --dump -f "$d/s2full.stream" > "$d/dump" || fail "full stream with flags unreadable"
grep -qE "^fileattr +\./$s2/dir/sub/file " "$d/dump" && grep -qE "^fileattr +\./$s2/dir/sub " "$d/dump" ||
	fail "no FILEATTR in the full restore: $(grep fileattr "$d/dump")"
mkdir "$SRC/r3"
"$CTL" receive -q -f "$d/s2full.stream" "$SRC/r3" > /dev/null 2>&1 ||
	fail "btrsendctl receive of the full restore stream"
[ "$(lsattr -d "$SRC/r3/$s2/dir/sub/file" | cut -c1-22)" = "$(lsattr -d "$SRC/snaps/$s2/dir/sub/file" | cut -c1-22)" ] &&
[ "$(lsattr -d "$SRC/r3/$s2/dir/sub" | cut -c1-22)" = "$(lsattr -d "$SRC/snaps/$s2/dir/sub" | cut -c1-22)" ] ||
	fail "flags not restored: $(lsattr -d "$SRC/r3/$s2/dir/sub/file" "$SRC/r3/$s2/dir/sub")"
check_received "$SRC/snaps/$s2" "$SRC/r3/$s2"
# Cut in the middle: the backup host notices and logs it; nothing stays.
peer laptop -s "$s2" -x 1 > "$d/r.out" 2>&1
[ $? = 3 ] || fail "cut: $(cat "$d/r.out")"
net_log_says "laptop.test: restore home/$s2 failed after" "cut restore log"
# A subtree: the walker's stream, a directory or one file, named by its
# last component, flagged subtree (0x2; 0x4 a file), never incremental.
peer laptop -s "$s2" -P dir/sub -u "$(subvol_uuid "$SRC/snaps/$s1")" -o "$d/sub.stream" > "$d/r.out" 2>&1 ||
	fail "restore dir/sub: $(cat "$d/r.out") / $(tail -3 "$d/recv.log")"
grep -q "^begin sub uuid .* parent - flags 0x2 " "$d/r.out" || fail "subtree begin: $(cat "$d/r.out")"
btrfs receive --dump -f "$d/sub.stream" > "$d/dump" || fail "subtree stream unreadable"
grep -q "write .*/file .*len=8" "$d/dump" || fail "subtree stream: $(cat "$d/dump")"
grep -q "laptop.test: restore home/$s2 path dir/sub (directory" "$d/recv.log" || fail "no subtree log line"
peer laptop -s "$s1" -P dir/big > "$d/r.out" 2>&1 || fail "restore dir/big: $(cat "$d/r.out")"
grep -q "^begin big uuid .* parent - flags 0x6 .* hint 3000$" "$d/r.out" || fail "file begin: $(cat "$d/r.out")"
for p in esc indir/sub; do
	peer laptop -s "$s2" -P "$p" > "$d/r.out" 2>&1 && fail "restore of $p: $(cat "$d/r.out")"
done
grep -q "denied error: home/$s2: indir is a symbolic link" "$d/r.out" || fail "restore through a symlink: $(cat "$d/r.out")"
peer laptop -j nosuch -s "$s2" > "$d/r.out" 2>&1 && fail "restore from an unknown job"
grep -q "refused: peer reports not-found error: no snapshot $s2 of job nosuch" "$d/r.out" || fail "unknown job: $(cat "$d/r.out")"

# Reads never modify the area: not a byte, not a time, no new entry.
listing > "$d/after"
diff "$d/before" "$d/after" || fail "the area changed"
[ -e "$area/nosuch" ] && fail "a directory appeared for an unknown job"
kill -0 "$NET_RECV_PID" || fail "receiver died"
grep -q "killed by its seccomp" "$d/recv.log" && fail "a worker was killed: $(grep -i seccomp "$d/recv.log")"
echo "restore and ls from the backup host: ok"
