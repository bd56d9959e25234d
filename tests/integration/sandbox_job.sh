# The job worker's barriers (issue 16, daemon/net/sandbox.h).  A live
# job worker, held by the test hook BTRSENDD_TEST_HANG_JOB once it is
# sandboxed, must show in /proc/PID/status no_new_privs, a seccomp
# filter and exactly the capabilities snapshotting and sending need
# (effective, permitted, bounding; none inheritable or ambient).  Then a
# job worker told by BTRSEND_TEST_SANDBOX_PROBE tries to raise dropped
# capabilities (EPERM) and to call ptrace (seccomp: killed by SIGSYS),
# and the parent reports the run failed on its seccomp filter, a bug.
# Last, the Landlock domain: a job worker whose target is given by host
# name (localhost: the resolver's files and NSS under Landlock) probes,
# once sandboxed, writing /etc/passwd, a file of the test, another job's
# snapshot-dir, the receive root and its source, reading a file of the
# test, TCP connect to a port no target has and bind (EACCES each),
# while writing its own snapshot-dir, reading its source and TLS key and
# connecting to its target are allowed; then its run replicates.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 256M
net_source
net_send_conf -s "$d/sstate" "$d/send.conf"
net_job_conf "$d/send.conf" "every 1h"
printf 'control {\n\tsocket %s\n}\n' "$d/control.sock" >> "$d/send.conf"

# SYS_ADMIN DAC_OVERRIDE DAC_READ_SEARCH FOWNER (sandbox_caps)
want=000000000020000e

BTRSENDD_TEST_HANG_JOB=home net_start_sender "$d/send.conf" "$d/send.log"
"$CTL" run -f "$d/send.conf" home > "$d/out" 2>&1 ||
	fail "run home: $(cat "$d/out")"
net_wait_sender "test hook: worker hangs now" 1 20
pid=$(pgrep -P "$NET_SEND_PID" | head -1)
[ -n "$pid" ] || fail "no job worker under $NET_SEND_PID: $(tail -5 "$d/send.log")"
net_check_confined "$pid" "$want"
kill "$NET_SEND_PID"; wait "$NET_SEND_PID" 2>/dev/null

mark=$(stat -c %s "$d/send.log")
BTRSEND_TEST_SANDBOX_PROBE=cap:cap_chown,cap:cap_net_admin,call:ptrace \
	net_start_sender "$d/send.conf" "$d/send.log"
"$CTL" run -f "$d/send.conf" home > "$d/out" 2>&1 || fail "run home: $(cat "$d/out")"
net_wait_sender "killed by its seccomp filter (SIGSYS).*bug" 1 20
saw() {
	tail -c +$((mark + 1)) "$d/send.log" | grep -qF -- "TEST: sandbox probe: $1" ||
		fail "$2: no 'probe: $1' in: $(tail -c +$((mark + 1)) "$d/send.log")"
}
saw "raise cap_chown: Operation not permitted" "a dropped capability"
saw "raise cap_net_admin: Operation not permitted" "a dropped capability"
saw "calling ptrace" "the forbidden call"
grep -q "probe: ptrace returned" "$d/send.log" &&
	fail "ptrace returned: $(grep "ptrace returned" "$d/send.log")"
kill "$NET_SEND_PID"; wait "$NET_SEND_PID" 2>/dev/null

net_recv_conf "$d/recv.conf" "$d/rstate" "$DST/backup"
net_start_receiver "$d/recv.conf" "$d/recv.log"
sed "s/address 127\.0\.0\.1:/address localhost:/" "$d/send.conf" > "$d/named.conf"
grep -q "address localhost:$NET_PORT" "$d/named.conf" || fail "no named target: $(cat "$d/named.conf")"
mkdir "$SRC/snaps-other"
echo secret > "$d/secret"
echo mine > "$SRC/src/probe-read"
other=$((NET_PORT + 1))
probe="write:/etc/passwd,write:$d/outside,write:$SRC/snaps-other/probe"
probe="$probe,write:$DST/backup/probe,write:$SRC/src/probe,read:$d/secret"
probe="$probe,connect:$other,bind:$other,write:$SRC/snaps/probe-own"
probe="$probe,read:$SRC/src/probe-read,read:$NET_CERTS/laptop.test.key"
probe="$probe,connect:$NET_PORT"
mark=$(stat -c %s "$d/send.log")
BTRSEND_TEST_SANDBOX_PROBE=$probe net_start_sender "$d/named.conf" "$d/send.log"
"$CTL" run -f "$d/named.conf" home > "$d/out" 2>&1 || fail "run home: $(cat "$d/out")"
net_wait_sender "job home: run ok" 1 30
if tail -c +$((mark + 1)) "$d/send.log" | grep -q "this kernel has no Landlock"; then
	echo "job worker: no_new_privs, seccomp, capabilities $want; the probes refused: ok (this kernel has no Landlock)"
	exit 0
fi
saw "write /etc/passwd: Permission denied" "Landlock, /etc/passwd"
saw "write $d/outside: Permission denied" "Landlock, a file outside its area"
saw "write $SRC/snaps-other/probe: Permission denied" "Landlock, another snapshot-dir"
saw "write $DST/backup/probe: Permission denied" "Landlock, the receive root"
saw "write $SRC/src/probe: Permission denied" "Landlock, writing its source"
saw "read $d/secret: Permission denied" "Landlock, reading a file outside"
saw "connect 127.0.0.1:$other: Permission denied" "Landlock, a port no target has"
saw "bind 127.0.0.1:$other: Permission denied" "Landlock, bind"
saw "write $SRC/snaps/probe-own: allowed" "its own snapshot-dir"
saw "read $SRC/src/probe-read: allowed" "reading its source"
saw "read $NET_CERTS/laptop.test.key: allowed" "reading its TLS key"
saw "connect 127.0.0.1:$NET_PORT: allowed" "connecting to its target"
for f in /etc/passwd "$d/outside" "$SRC/snaps-other/probe" "$DST/backup/probe" \
	"$SRC/src/probe"; do
	[ ! -e "$f" ] || [ "$f" = /etc/passwd ] || fail "the probe made $f"
done
name=$(ls "$SRC/snaps" | grep '^home\.' | sort | tail -n 1)
[ -d "$DST/backup/laptop.test/home/$name" ] ||
	fail "$name not sent to localhost under Landlock: $(tail -10 "$d/send.log")"
echo "job worker: no_new_privs, seccomp, capabilities $want, Landlock; the probes refused: ok"
