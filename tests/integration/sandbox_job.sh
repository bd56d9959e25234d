# The job worker's barriers (issue 16, daemon/net/sandbox.h).  A live
# job worker, held by the test hook BTRSENDD_TEST_HANG_JOB once it is
# sandboxed, must show in /proc/PID/status no_new_privs, a seccomp
# filter and exactly the capabilities snapshotting and sending need
# (effective, permitted, bounding; none inheritable or ambient).  Then a
# job worker told by BTRSEND_TEST_SANDBOX_PROBE tries to raise dropped
# capabilities (EPERM) and to call ptrace (seccomp: killed by SIGSYS),
# and the parent reports the run failed on its seccomp filter, a bug.
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
status=$(cat "/proc/$pid/status") || fail "worker $pid gone"
note "worker $pid: $(echo "$status" | grep -E '^(NoNewPrivs|Seccomp|Cap)' | tr '\n\t' '  ')"
for f in "NoNewPrivs:	1" "Seccomp:	2" "CapEff:	$want" "CapPrm:	$want" \
	"CapBnd:	$want" "CapInh:	0000000000000000" "CapAmb:	0000000000000000"; do
	echo "$status" | grep -qx "$f" ||
		fail "worker $pid: want '$f', has '$(echo "$status" | grep "^${f%%:*}:")'"
done
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
echo "job worker: no_new_privs, seccomp, capabilities $want; the probes refused: ok"
