# Sourced after common.sh by the tests that run btrsendd over real TLS on
# loopback: the certificates, the port, the two configurations every
# such test starts from and the start of a receiving daemon.
#
#   net_setup DIR                    certificates (tests/lib/mkcerts.sh)
#                                    in DIR/certs ($NET_CERTS) and a
#                                    random port ($NET_PORT)
#   net_recv_conf FILE STATE ROOT [LINE...]
#                                    receiver: tls as backup.test,
#                                    state-dir STATE, receive block on
#                                    $NET_PORT into ROOT for client
#                                    laptop.test, then each LINE
#   net_send_conf [-s STATE] FILE [LINE...]
#                                    sender: tls as laptop.test
#                                    (state-dir STATE), target backup at
#                                    $NET_PORT (name backup.test), then
#                                    each LINE in the target block
#   net_check_conf FILE WHAT         btrsendd -n accepts FILE, or fail
#                                    naming WHAT with its message
#   net_start_receiver CONF LOG [N]  btrsendd -d -v -f CONF, stderr
#                                    appended to LOG, pid in
#                                    $NET_RECV_PID (tracked); fails with
#                                    LOG unless within 5 s LOG holds N
#                                    "receiving into" lines (default: one
#                                    more than before)
#
# A test needing more keys passes them as LINEs or appends its own
# blocks (`cat >> FILE`); environment for the daemon goes before the
# call (`BTRSEND_CKPT_BYTES=... net_start_receiver ...`).

NET_CERTS=
NET_PORT=
NET_RECV_PID=

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
	local state= file line
	if [ "$1" = -s ]; then
		state=$2
		shift 2
	fi
	file=$1
	shift
	{
		net_tls laptop
		[ -z "$state" ] || echo "state-dir $state"
		cat <<CONF
target backup {
	address 127.0.0.1:$NET_PORT
	name backup.test
CONF
		for line in "$@"; do printf '\t%s\n' "$line"; done
		echo "}"
	} > "$file"
}

net_check_conf() {
	"$BTRSENDD" -n -f "$1" 2>/dev/null ||
		fail "$2 config: $("$BTRSENDD" -n -f "$1" 2>&1)"
}

# The log may hold earlier daemons' lines: by default wait for one more
# start line than it had.
net_start_receiver() {
	local conf=$1 log=$2 want=${3:-} i
	[ -n "$want" ] ||
		want=$(($(grep -c "receiving into" "$log" 2>/dev/null) + 1))
	"$BTRSENDD" -d -v -f "$conf" 2>> "$log" &
	NET_RECV_PID=$!
	fixture_track_pid "$NET_RECV_PID"
	for i in $(seq 100); do
		[ "$(grep -c "receiving into" "$log")" -ge "$want" ] && return 0
		sleep 0.05
	done
	fail "receiver did not start: $(cat "$log")"
}
