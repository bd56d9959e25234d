# Sourced after common.sh, net.sh and scenario.sh by the restore tests
# (tests/integration/restore_*.sh): a backup host holding the job home
# of laptop.test, and the client's side of `btrsendctl restore`.
#
#   rs_fixture VAR SIZE [DST_SIZE]   net_fixture VAR SIZE DST_SIZE, the
#                                    backup host's btrsendd started
#                                    (conf $RS_DIR/recv.conf, log
#                                    $RS_DIR/recv.log, environment as
#                                    for net_start_receiver), the
#                                    client's configuration $RS_CONF
#                                    (laptop.test, state-dir
#                                    $RS_DIR/cstate, target backup)
#   rs_conf FILE [PORT]              a client configuration like
#                                    $RS_CONF, to PORT (a proxy)
#   rs_snap NAME                     $SRC/snaps/NAME, a read-only
#                                    snapshot of $SRC/src
#   rs_send NAME [ARG...]            btrsendctl send --job home ARG...
#                                    --to backup $SRC/snaps/NAME, or fail
#   rs_held NAME                     the backup host's copy of NAME
#   rs_restore [-c CONF] ARG...      btrsendctl restore -f CONF (default
#                                    $RS_CONF) --from backup --job home
#                                    ARG..., stdout in $RS_OUT, stderr in
#                                    $RS_ERR, or fail with both and the
#                                    backup host's last lines; given up
#                                    after $RS_SECS (120) s
#   rs_restore_fails [-c CONF] ARG...
#                                    the same, but it must fail
#   rs_bytes BASE                    server-to-client bytes the proxy of
#                                    BASE (net_start_proxy) passed, once
#                                    its connections are closed
#   rs_stream SNAP                   bytes of `btrfs send SNAP` (full)

RS_DIR=
RS_CONF=
RS_OUT=
RS_ERR=

rs_fixture() {
	local var=$1
	net_fixture "$var" "$2" "${3:-$2}"
	RS_DIR=${!var}
	net_recv_conf "$RS_DIR/recv.conf" "$RS_DIR/rstate" "$DST/backup"
	net_start_receiver "$RS_DIR/recv.conf" "$RS_DIR/recv.log"
	RS_CONF=$RS_DIR/client.conf
	rs_conf "$RS_CONF"
	RS_OUT=$RS_DIR/restore.out
	RS_ERR=$RS_DIR/restore.err
}

rs_conf() {
	net_send_conf -s "$RS_DIR/cstate" -p "${2:-$NET_PORT}" "$1"
}

rs_snap() { snap_ro "$SRC/src" "$SRC/snaps/$1"; }

rs_send() {
	timeout 120 "$CTL" send -f "$RS_CONF" --job home --retries 0 "${@:2}" \
		--to backup "$SRC/snaps/$1" > "$RS_DIR/send.out" 2>&1 ||
		fail "send $1: $(cat "$RS_DIR/send.out") / backup host: $(tail -5 "$RS_DIR/recv.log")"
	[ -d "$(rs_held "$1")" ] || fail "send $1: not on the backup host"
}

rs_held() { echo "$DST/backup/laptop.test/home/$1"; }

_rs_run() {
	local conf=$RS_CONF
	if [ "$1" = -c ]; then
		conf=$2
		shift 2
	fi
	timeout "${RS_SECS:-120}" "$CTL" restore -f "$conf" --from backup \
		--job home "$@" > "$RS_OUT" 2> "$RS_ERR"
}

rs_restore() {
	_rs_run "$@" ||
		fail "restore $*: exit $?: $(cat "$RS_OUT" "$RS_ERR") / backup host: $(tail -5 "$RS_DIR/recv.log")"
	note "restore $*: $(cat "$RS_OUT" "$RS_ERR" | tail -n 2 | tr "\n" " ")"
}

rs_restore_fails() {
	_rs_run "$@" && fail "restore $* succeeded: $(cat "$RS_OUT" "$RS_ERR")"
	note "restore $* refused: $(cat "$RS_ERR" | tr '\n' ' ')"
	return 0
}

rs_bytes() {
	local i
	# the proxy writes its counts when a connection ends
	for i in $(seq 20); do
		[ -s "$1.count" ] && break
		sleep 0.1
	done
	sleep 0.3
	awk '$1 == "s2c" { print $2 }' "$1.count"
}

rs_stream() { btrfs send -q "$1" | wc -c; }
