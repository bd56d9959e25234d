# Sourced after common.sh by the tests that run btrsendd over real TLS on
# loopback: the two filesystems, the certificates, the port, the
# configurations every such test starts from, the start of a receiving
# and of a sending daemon, and the fault proxy between them.
#
#   net_fixture VAR SIZE [DST_SIZE [SRC_OPTS [DST_OPTS]]]
#                                    after fixture_init: btrfs $SRC of
#                                    SIZE (mounted with SRC_OPTS) and
#                                    $DST of DST_SIZE (default SIZE,
#                                    mounted with DST_OPTS), a
#                                    scratch directory in VAR given to
#                                    net_setup, the receive root
#                                    $DST/backup
#   net_setup DIR                    certificates (tests/lib/mkcerts.sh)
#                                    in DIR/certs ($NET_CERTS) and a
#                                    random port ($NET_PORT)
#   net_recv_conf FILE STATE ROOT [LINE...]
#                                    receiver: tls as backup.test,
#                                    state-dir STATE, receive block on
#                                    $NET_PORT into ROOT for client
#                                    laptop.test, then each LINE
#   net_send_conf [-c NAME] [-s STATE] [-p PORT] FILE [LINE...]
#                                    sender: tls as NAME.test (default
#                                    laptop), state-dir STATE, target
#                                    backup at PORT (default $NET_PORT;
#                                    name backup.test), then each LINE
#                                    in the target block
#   net_job_conf FILE SCHEDULE [LINE...]
#                                    appends to FILE job home: source
#                                    $SRC/src, snapshot-dir $SRC/snaps,
#                                    schedule SCHEDULE, send-to backup,
#                                    then each LINE
#   net_source [SIZE]                the subvolume $SRC/src, filled by
#                                    scenario_populate SIZE (default
#                                    small; source scenario.sh first),
#                                    and $SRC/snaps for its snapshots:
#                                    what net_job_conf's job sends
#   net_check_conf FILE WHAT         btrsendd -n accepts FILE, or fail
#                                    naming WHAT with its message
#   net_start_receiver CONF LOG [N]  btrsendd -d -v -f CONF, stderr
#                                    appended to LOG, pid in
#                                    $NET_RECV_PID (tracked); fails with
#                                    LOG unless within 5 s LOG holds N
#                                    "receiving into" lines (default: one
#                                    more than before)
#   net_start_receiver_new CONF LOG  net_start_receiver CONF LOG.new,
#                                    LOG.new emptied first so that it
#                                    holds this daemon's lines only;
#                                    its start lines are then appended
#                                    to LOG
#   net_log_mark LOG                 start watching LOG (as written by
#                                    net_start_receiver_new: LOG.new)
#   net_log_says PATTERN WHAT        LOG's lines since the last mark match
#                                    the extended regex PATTERN within
#                                    3 s, or fail naming WHAT; then mark
#   net_start_sender CONF LOG        btrsendd -d -v -f CONF, stderr
#                                    appended to LOG ($NET_SEND_LOG), pid
#                                    in $NET_SEND_PID (tracked); fails
#                                    with LOG unless within 10 s LOG
#                                    holds one more "started with" line
#   net_wait_sender PATTERN COUNT SECONDS
#                                    until COUNT lines of $NET_SEND_LOG
#                                    match PATTERN; fails after SECONDS,
#                                    or when the sender died (with its
#                                    sanitizer report, else its log)
#   net_pause_sender                 SIGSTOP the sender (no new run
#                                    starts), then wait up to 60 s for
#                                    its job worker, if one runs, to end
#   net_start_proxy BASE [ARG...]    tests/lib/faultproxy to $NET_PORT,
#                                    its port in file BASE.port and
#                                    $NET_PROXY_PORT, counts in
#                                    BASE.count, ARGs (-c, -s, -T, ...)
#                                    after; tracked; fails unless it
#                                    listens within 5 s
#
# A test needing more keys passes them as LINEs or appends its own
# blocks (`cat >> FILE`); environment for a daemon goes before the
# call (`BTRSEND_CKPT_BYTES=... net_start_receiver ...`; test hooks like
# this one work in the test build only, proto/base/testing.h).

NET_CERTS=
NET_PORT=
NET_RECV_PID=
NET_SEND_PID=
NET_SEND_LOG=
NET_PROXY_PORT=

net_fixture() {
	local var=$1 size=$2 dst_size=${3:-$2} src_opts=${4:-} dst_opts=${5:-} dir
	btrfs_fs SRC "$size" "$src_opts"
	btrfs_fs DST "$dst_size" "$dst_opts"
	dir=$(scratch_dir)
	net_setup "$dir"
	mkdir -p "$DST/backup"
	printf -v "$var" '%s' "$dir"
}

net_setup() {
	NET_CERTS=$1/certs
	"$TOP/tests/lib/mkcerts.sh" "$NET_CERTS" >/dev/null || fail "mkcerts"
	NET_PORT=$((20000 + RANDOM % 20000))
}

# net_tls NAME: the tls block for the certificate NAME.test.
net_tls() {
	cat <<CONF
tls {
	certificate $NET_CERTS/$1.test.crt
	key $NET_CERTS/$1.test.key
	ca $NET_CERTS/ca.crt
}
CONF
}

net_recv_conf() {
	local file=$1 state=$2 root=$3 line
	shift 3
	{
		net_tls backup
		cat <<CONF
state-dir $state
receive {
	listen 127.0.0.1:$NET_PORT
	root $root
	client laptop.test
CONF
		for line in "$@"; do printf '\t%s\n' "$line"; done
		echo "}"
	} > "$file"
}

net_send_conf() {
	local name=laptop state= port=$NET_PORT file line
	while :; do
		case $1 in
		-c)	name=$2 ;;
		-s)	state=$2 ;;
		-p)	port=$2 ;;
		*)	break ;;
		esac
		shift 2
	done
	file=$1
	shift
	{
		net_tls "$name"
		[ -z "$state" ] || echo "state-dir $state"
		cat <<CONF
target backup {
	address 127.0.0.1:$port
	name backup.test
CONF
		for line in "$@"; do printf '\t%s\n' "$line"; done
		echo "}"
	} > "$file"
}

net_job_conf() {
	local file=$1 schedule=$2 line
	shift 2
	{
		cat <<CONF
job home {
	source       $SRC/src
	snapshot-dir $SRC/snaps
	schedule     $schedule
	send-to      backup
CONF
		for line in "$@"; do printf '\t%s\n' "$line"; done
		echo "}"
	} >> "$file"
}

net_source() {
	btrfs -q subvolume create "$SRC/src" || fail "subvolume create $SRC/src"
	mkdir "$SRC/snaps"
	scenario_populate "$SRC/src" "${1:-small}"
}

net_check_conf() {
	"$BTRSENDD" -n -f "$1" 2>/dev/null ||
		fail "$2 config: $("$BTRSENDD" -n -f "$1" 2>&1)"
}

# The log may hold earlier daemons' lines: by default wait for one more
# start line than it had.
net_start_receiver() {
	local conf=$1 log=$2 want=${3:-}
	[ -n "$want" ] ||
		want=$(($(grep -c "receiving into" "$log" 2>/dev/null) + 1))
	"$BTRSENDD" -d -v -f "$conf" 2>> "$log" &
	NET_RECV_PID=$!
	fixture_track_pid "$NET_RECV_PID"
	_net_lines "$log" "receiving into" "$want" 100 ||
		fail "receiver did not start: $(cat "$log")"
}

# _net_lines LOG PATTERN N TRIES: true once LOG holds N lines matching
# PATTERN, looked at TRIES times 0.05 s apart.
_net_lines() {
	local i
	for i in $(seq "$4"); do
		[ "$(grep -c -- "$2" "$1")" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

net_log_mark() {
	NET_LOG_WATCH=$1
	NET_LOG_MARK=$(stat -c %s "$1") || fail "no log $1"
}

net_log_says() {
	local i
	for i in $(seq 30); do
		tail -c +$((NET_LOG_MARK + 1)) "$NET_LOG_WATCH" | grep -qE -- "$1" && break
		sleep 0.1
	done
	tail -c +$((NET_LOG_MARK + 1)) "$NET_LOG_WATCH" | grep -E -- "$1" >&2 ||
		fail "$2: daemon log has no /$1/: $(tail -c +$((NET_LOG_MARK + 1)) "$NET_LOG_WATCH")"
	NET_LOG_MARK=$(stat -c %s "$NET_LOG_WATCH")
}

net_start_receiver_new() {
	: > "$2.new"
	net_start_receiver "$1" "$2.new"
	cat "$2.new" >> "$2"
}

# The log may hold earlier daemons' lines, as that of net_start_receiver.
net_start_sender() {
	local conf=$1 log=$2 want
	want=$(($(grep -c "started with" "$log" 2>/dev/null) + 1))
	"$BTRSENDD" -d -v -f "$conf" 2>> "$log" &
	NET_SEND_PID=$!
	NET_SEND_LOG=$log
	fixture_track_pid "$NET_SEND_PID"
	_net_lines "$log" "started with" "$want" 200 ||
		fail "sender did not start: $(tail -5 "$log")"
}

net_wait_sender() {
	local i
	for i in $(seq $(($3 * 10))); do
		kill -0 "$NET_SEND_PID" 2>/dev/null ||
			fail "sender died: $(grep -A40 "ERROR: AddressSanitizer\|runtime error" "$NET_SEND_LOG" || tail -20 "$NET_SEND_LOG")"
		[ "$(grep -c -- "$1" "$NET_SEND_LOG")" -ge "$2" ] && return 0
		sleep 0.1
	done
	fail "no '$1' #$2 in $3 s: $(tail -20 "$NET_SEND_LOG")"
}

# A finished worker stays a zombie until the parent runs again.
net_pause_sender() {
	local i
	kill -STOP "$NET_SEND_PID"
	for i in $(seq 600); do
		ps -o stat= --ppid "$NET_SEND_PID" | grep -qv '^Z' || return 0
		sleep 0.1
	done
	fail "the job worker did not finish in 60 s"
}

net_start_proxy() {
	local base=$1 i
	shift
	"$TOOLS/faultproxy" -P "$base.port" -t "$NET_PORT" -o "$base.count" "$@" &
	fixture_track_pid $!
	for i in $(seq 50); do [ -s "$base.port" ] && break; sleep 0.1; done
	[ -s "$base.port" ] || fail "faultproxy did not start"
	NET_PROXY_PORT=$(cat "$base.port")
}

# net_peer [tlspeer connect options...]: a raw client (tlspeer) with
# laptop.test's certificate to the receiver backup.test on $NET_PORT, as
# hostile-client tests use it; given up after $NET_PEER_SECS (60) s.
net_peer() {
	timeout "${NET_PEER_SECS:-60}" "$TOOLS/tlspeer" connect \
		-c "$NET_CERTS/laptop.test.crt" -k "$NET_CERTS/laptop.test.key" \
		-a "$NET_CERTS/ca.crt" -H backup.test -p "$NET_PORT" "$@"
}

# net_check_confined PID WANT: the worker PID runs with no_new_privs,
# seccomp filtering, and exactly the capability mask WANT (hex, 16
# digits) in its effective, permitted and bounding sets, none inheritable
# or ambient (/proc/PID/status).
net_check_confined() {
	local pid=$1 want=$2 status f
	status=$(cat "/proc/$pid/status") || fail "worker $pid gone"
	note "worker $pid: $(echo "$status" | grep -E '^(NoNewPrivs|Seccomp|Cap)' | tr '\n\t' '  ')"
	for f in "NoNewPrivs:	1" "Seccomp:	2" "CapEff:	$want" "CapPrm:	$want" \
		"CapBnd:	$want" "CapInh:	0000000000000000" "CapAmb:	0000000000000000"; do
		echo "$status" | grep -qx "$f" ||
			fail "worker $pid: want '$f', has '$(echo "$status" | grep "^${f%%:*}:")'"
	done
}
