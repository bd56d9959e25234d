# The receive worker's barriers (issue 16, daemon/net/sandbox.h), each
# crossed on purpose.  First a live worker, paused before it finishes a
# snapshot (BTRSEND_TEST_RECV_PAUSE), must show in /proc/PID/status
# no_new_privs, a seccomp filter and exactly the capabilities applying
# needs (effective, permitted, bounding; none inheritable or ambient),
# and the transfer it serves must still arrive identical.  Then a worker
# told by the test hook BTRSEND_TEST_SANDBOX_PROBE tries, once
# sandboxed: to write /etc/passwd and into another client's area and to
# read that area and the TLS key (Landlock: EACCES, while its own area
# stays writable), to raise capabilities it dropped (EPERM), and to call
# ptrace (seccomp: killed by SIGSYS, which the parent reports as a bug).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup" "client desktop.test"
net_send_conf "$d/send.conf"
net_source
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"
other=$DST/backup/desktop.test
mkdir -p "$other"
echo secret > "$other/secret"

# SYS_ADMIN CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID MKNOD
# LINUX_IMMUTABLE SETFCAP (sandbox_caps)
want=000000008820021f

BTRSEND_TEST_RECV_PAUSE=4 net_start_receiver "$d/recv.conf" "$d/recv.log"
timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 0 --to backup \
	"$SRC/snaps/$snap" > "$d/out" 2>&1 &
send=$!
fixture_track_pid "$send"
pid=
for i in $(seq 200); do
	grep -q "TEST: pausing 4 s before finishing" "$d/recv.log" &&
		pid=$(pgrep -P "$NET_RECV_PID" | head -1) && [ -n "$pid" ] && break
	sleep 0.05
done
[ -n "$pid" ] || fail "no paused receive worker: $(tail -5 "$d/recv.log")"
net_check_confined "$pid" "$want"
wait "$send" || fail "send under the sandbox: $(cat "$d/out") / $(tail -5 "$d/recv.log")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" \
	"$DST/backup/laptop.test/home/$snap" || fail "received snapshot differs"
kill "$NET_RECV_PID"; wait "$NET_RECV_PID" 2>/dev/null

# The probes: what a worker taken over by a hostile stream would try.
own=$DST/backup/laptop.test/probe-own
probe="write:/etc/passwd,write:$other/probe,read:$other/secret"
probe="$probe,read:$NET_CERTS/backup.test.key,write:$own"
probe="$probe,cap:cap_sys_ptrace,cap:cap_net_admin,call:ptrace"
mark=$(stat -c %s "$d/recv.log")
BTRSEND_TEST_SANDBOX_PROBE=$probe net_start_receiver "$d/recv.conf" "$d/recv.log"
net_log_mark "$d/recv.log"
timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 0 --to backup \
	"$SRC/snaps/home.20260101T000000Z" > "$d/out" 2>&1 &&
	fail "a transfer went on after its worker's forbidden call: $(cat "$d/out")"
net_log_says "receive worker [0-9]+ killed by its seccomp filter \(SIGSYS\).*bug" \
	"the parent's report"
saw() {
	tail -c +$((mark + 1)) "$d/recv.log" | grep -qF -- "TEST: sandbox probe: $1" ||
		fail "$2: no 'probe: $1' in: $(tail -c +$((mark + 1)) "$d/recv.log")"
}
saw "write /etc/passwd: Permission denied" "Landlock, /etc/passwd"
saw "write $other/probe: Permission denied" "Landlock, another client's area"
saw "read $other/secret: Permission denied" "Landlock, another client's file"
saw "read $NET_CERTS/backup.test.key: Permission denied" "Landlock, the TLS key"
saw "write $own: allowed" "its own area"
saw "raise cap_sys_ptrace: Operation not permitted" "a dropped capability"
saw "raise cap_net_admin: Operation not permitted" "a dropped capability"
saw "calling ptrace" "the forbidden call"
grep -q "probe: ptrace returned" "$d/recv.log" &&
	fail "ptrace returned: $(grep "ptrace returned" "$d/recv.log")"
[ -e "$other/probe" ] && fail "a file appeared in another client's area"
grep -qx "secret" "$other/secret" || fail "the other client's file changed"
echo "receive worker: no_new_privs, seccomp, capabilities $want; Landlock and seccomp refuse the probes: ok"
