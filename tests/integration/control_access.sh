# Who may use btrsendd's control socket, and what a bad client costs.
# The socket is mode 0660 in the configured group; root may act, a member
# of the group (a throwaway user and group made here) may read status,
# history and snapshots but its run, pause and reload are refused; a user
# outside the group is refused by the file mode, and one that reaches the
# socket anyway (holding the group only in its process, not in
# /etc/group) is refused by the daemon on its peer credentials, with a
# log line.  A hello of another protocol version, a request before the
# hello, an unknown message type and an oversize length each get a clear
# refusal and close that client only (and btrsendctl refuses a daemon of
# another version); the 17th connection of one uid is
# refused; a client that sends requests but never reads is dropped.  A
# stale socket left by a killed daemon is replaced; a second daemon does
# not steal a live one; stopping removes it.  Out of file descriptors,
# the listener pauses instead of spinning.
. "$(dirname "$0")/../lib/common.sh"

command -v useradd >/dev/null && command -v setpriv >/dev/null ||
	skip "useradd/setpriv not installed"
fixture_init
S=$(scratch_dir)
chmod 711 "$FIX_DIR" "$S"
tag=$$$RANDOM
grp=bsctl$tag
uin=bsin$tag
uout=bsout$tag
access_cleanup() {
	fixture_cleanup
	userdel "$uin" 2>/dev/null || true
	userdel "$uout" 2>/dev/null || true
	groupdel "$grp" 2>/dev/null || true
}
trap access_cleanup EXIT
groupadd "$grp" || fail "groupadd $grp"
useradd -M -N -s /usr/sbin/nologin -G "$grp" "$uin" || fail "useradd $uin"
useradd -M -N -s /usr/sbin/nologin "$uout" || fail "useradd $uout"

sock=$S/run/btrsend/ctl.sock
cat > "$S/btrsend.conf" <<EOC
state-dir $S/state
control {
    socket $sock
    group  $grp
}
job home {
    source       /nonexistent/src
    snapshot-dir /nonexistent/snaps
}
EOC
start_daemon() {
	"$BTRSENDD" -d -f "$S/btrsend.conf" 2>> "$S/daemon.log" &
	pid=$!
	fixture_track_pid $pid
	for i in $(seq 50); do
		[ -S "$sock" ] && "$CTL" status -s "$sock" > /dev/null 2>&1 && return
		sleep 0.1
	done
	cat "$S/daemon.log" >&2
	fail "no control socket at $sock"
}
start_daemon

# The socket: made with its directory, 0660, in the group.
[ "$(stat -c '%a %G' "$sock")" = "660 $grp" ] ||
	fail "socket mode/group: $(stat -c '%a %G' "$sock")"

as() { local u=$1; shift; runuser -u "$u" -- "$@"; }

# A member reads.
as "$uin" "$CTL" status -s "$sock" > "$S/st" 2> "$S/err" ||
	fail "group member: status refused: $(cat "$S/err")"
grep -q '^home  *manual ' "$S/st" || fail "status of a member: $(cat "$S/st")"
as "$uin" "$CTL" status -s "$sock" --json > "$S/st.json" || fail "member: status --json"
python3 - "$S/st.json" <<'PY' || fail "member's status --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1, d
assert [j["name"] for j in d["jobs"]] == ["home"], d
assert d["jobs"][0]["schedule"] == "manual" and d["jobs"][0]["next_run"] is None, d
PY
as "$uin" "$CTL" history -s "$sock" > /dev/null || fail "member: history refused"
# ... and may not act.
for cmd in "run home" "pause home" "unpause home" "reload" "cancel 1"; do
	rc=0
	as "$uin" "$CTL" $cmd -s "$sock" > /dev/null 2> "$S/err" || rc=$?
	[ $rc = 1 ] || fail "member: '$cmd' exit $rc, want 1"
	grep -q "permission denied: '${cmd%% *}' needs root" "$S/err" ||
		fail "member: '$cmd': $(cat "$S/err")"
done
grep -q "control: uid $(id -u "$uin") pid [0-9]*: run refused: read-only access" \
	"$S/daemon.log" || fail "no log line for the member's refused run"
[ ! -e "$S/state/paused" ] || fail "a member's pause was carried out"

# An outsider: the file mode stops it.
rc=0
as "$uout" "$CTL" status -s "$sock" > /dev/null 2> "$S/err" || rc=$?
[ $rc = 1 ] && grep -q "permission denied" "$S/err" ||
	fail "outsider: exit $rc: $(cat "$S/err")"
# Holding the group in its process only, it reaches the socket: the
# daemon's own check refuses it and says so in its log.
gid=$(getent group "$grp" | cut -d: -f3)
rc=0
setpriv --reuid "$(id -u "$uout")" --regid "$(id -g "$uout")" --groups "$gid" \
	"$CTL" status -s "$sock" > /dev/null 2> "$S/err" || rc=$?
[ $rc = 1 ] || fail "outsider with the group in its process: exit $rc"
grep -q "permission denied: uid $(id -u "$uout") is neither root nor a member" \
	"$S/err" || fail "outsider's refusal: $(cat "$S/err")"
grep -q "control: uid $(id -u "$uout") pid [0-9]* refused: not root and not in the control group" \
	"$S/daemon.log" || fail "no log line for the outsider"

# Protocol: version, order, unknown type, oversize length.
out=$("$TOOLS/ctlpeer" "$sock" hello 1)
[ "$out" = "fail control protocol version 1 is not supported: this btrsendd speaks version 2 (use the btrsendctl of the same release)" ] ||
	fail "version 1 hello: $out"
out=$("$TOOLS/ctlpeer" "$sock" hello 2)
[ "$out" = "hello 2 2" ] || fail "root's hello: $out"
out=$("$TOOLS/ctlpeer" "$sock" early)
[ "$out" = "fail protocol error: unexpected request message before hello" ] ||
	fail "request before hello: $out"
# type 99, length 0
out=$("$TOOLS/ctlpeer" "$sock" raw 00630000000000000000000000000000)
case $out in "fail frame 0 at byte 0: unknown message type 99"*) ;;
	*) fail "unknown type: $out" ;; esac
# a hello claiming 1 MiB
out=$("$TOOLS/ctlpeer" "$sock" raw 00010000001000000000000000000000)
case $out in *"payload of 1048576 bytes exceeds the limit of 5"*) ;;
	*) fail "oversize hello: $out" ;; esac
# a well-formed hello carrying a frame flag: none is defined here
out=$("$TOOLS/ctlpeer" "$sock" raw 000100010000000500000000000000000000000100)
[ "$out" = "fail protocol error: hello message with frame flags 0x1 (the control protocol defines none)" ] ||
	fail "hello with a flag: $out"
grep -q "message [0-9]*: hello message with frame flags 0x1" "$S/daemon.log" ||
	fail "no log line for the flagged hello"
# 16 connections per uid, the 17th refused.
out=$("$TOOLS/ctlpeer" "$sock" many 17)
[ "$out" = "ok 16 refused 1" ] || fail "17 connections: $out"
# A client that never reads is dropped, the daemon lives on.
out=$(timeout 60 "$TOOLS/ctlpeer" "$sock" flood) || fail "flood: timed out"
[ "$out" = closed ] || fail "flood: $out"
grep -q "does not read its replies" "$S/daemon.log" || fail "no log of the dropped reader"
kill -0 $pid || fail "daemon died"
"$CTL" status -s "$sock" > /dev/null || fail "status after bad clients"

# btrsendctl refuses a daemon of another protocol version.
"$TOOLS/ctlpeer" "$S/fake.sock" serve 3 > "$S/fake.out" &
fake=$!
for i in $(seq 50); do [ -S "$S/fake.sock" ] && break; sleep 0.1; done
rc=0
"$CTL" status -s "$S/fake.sock" > /dev/null 2> "$S/err" || rc=$?
wait $fake
[ $rc = 1 ] && grep -q "btrsendd speaks control protocol version 3, this btrsendctl 2" "$S/err" ||
	fail "btrsendctl and a version 3 daemon: exit $rc: $(cat "$S/err")"
[ "$(cat "$S/fake.out")" = "$(printf 'client hello 2 0\nclosed')" ] ||
	fail "fake daemon saw: $(cat "$S/fake.out")"

# A second daemon leaves the live socket alone.
sed "s|^state-dir .*|state-dir $S/state2|" "$S/btrsend.conf" > "$S/second.conf"
timeout 5 "$BTRSENDD" -d -f "$S/second.conf" 2> "$S/second.log" &
sleep 1
"$CTL" status -s "$sock" > /dev/null || fail "second daemon took the socket"
grep -q "is in use by another process" "$S/second.log" ||
	fail "second daemon: $(cat "$S/second.log")"
wait $! || true

# A killed daemon leaves a stale socket; the next one replaces it.
kill -9 $pid
wait $pid 2>/dev/null || true
[ -S "$sock" ] || fail "no stale socket after kill -9"
start_daemon
"$CTL" status -f "$S/btrsend.conf" > /dev/null || fail "status with -f after restart"
kill -TERM $pid
wait $pid || fail "daemon exit $?"
[ ! -e "$sock" ] || fail "socket left after a clean stop"
rc=0
"$CTL" status -s "$sock" > /dev/null 2> "$S/err" || rc=$?
[ $rc = 1 ] && grep -q "is btrsendd running?" "$S/err" ||
	fail "status without a daemon: exit $rc: $(cat "$S/err")"

# Out of file descriptors: the listener pauses, it does not spin, and
# takes connections again once some are closed.
(ulimit -n 20; exec "$BTRSENDD" -d -f "$S/btrsend.conf" 2> "$S/emfile.log") &
pid=$!
fixture_track_pid $pid
for i in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
used=$(ls /proc/$pid/fd | wc -l)
"$TOOLS/ctlpeer" "$sock" hold $((20 - used + 4)) 3 &
sleep 2.5
n=$(grep -c "control: accept; pausing for 1s: Too many open files" "$S/emfile.log")
[ "$n" -ge 1 ] && [ "$n" -le 4 ] ||
	fail "EMFILE: $n pauses logged in 2.5 s: $(head -5 "$S/emfile.log")"
note "EMFILE: $n pauses logged in 2.5 s ($used descriptors in use of 20)"
wait $!
"$CTL" status -s "$sock" > /dev/null || fail "no status after the EMFILE pause"
kill -TERM $pid
wait $pid || fail "daemon exit $? (EMFILE)"
echo "control_access: ok"
