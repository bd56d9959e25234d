# Where the TLS private key lives (issue 16): in the parent, which does
# the handshakes, and nowhere in a receive worker, which parses all a
# client sends.  A worker paused before it finishes a snapshot
# (BTRSEND_TEST_RECV_PAUSE) has its whole memory read (/proc/PID/maps
# and /proc/PID/mem, tests/lib/keyscan.py) for the key's secret, the EC
# private scalar or the RSA prime p in either byte order, and for the
# lines of the key file's base64 text: none may be there.  The parent's
# memory is read the same way, as the control that the scan finds a
# key where one is.  Once with the tests' EC P-256 key, once with an
# RSA one; both transfers must arrive identical (the worker's TLS goes
# on without the key).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 512M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_send_conf "$d/send.conf"
net_source

# An RSA certificate for the receiver, from the tests' CA.
c=$NET_CERTS
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out "$c/rsa.key" 2>/dev/null || fail "RSA key"
openssl req -new -key "$c/rsa.key" -subj "/CN=backup.test" \
	-out "$c/rsa.csr" 2>/dev/null || fail "RSA request"
printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
	"extendedKeyUsage=serverAuth" "subjectAltName=DNS:backup.test" > "$c/rsa.ext"
openssl x509 -req -in "$c/rsa.csr" -CA "$c/ca.crt" -CAkey "$c/ca.key" \
	-CAcreateserial -days 1 -extfile "$c/rsa.ext" -out "$c/rsa.crt" \
	2>/dev/null || fail "RSA certificate"
sed -e "s|$c/backup.test.crt|$c/rsa.crt|" \
	-e "s|$c/backup.test.key|$c/rsa.key|" "$d/recv.conf" > "$d/recv-rsa.conf"

# scan CONF KEY SNAP WHAT: SNAP sent under CONF, its worker and the
# parent scanned for KEY.
scan() {
	local conf=$1 key=$2 snap=$3 what=$4 pid= send i w p
	snap_ro "$SRC/src" "$SRC/snaps/$snap"
	BTRSEND_TEST_RECV_PAUSE=4 net_start_receiver "$conf" "$d/recv.log"
	timeout 60 "$CTL" send -f "$d/send.conf" --job home --retries 0 \
		--to backup "$SRC/snaps/$snap" > "$d/out" 2>&1 &
	send=$!
	fixture_track_pid "$send"
	for i in $(seq 200); do
		grep -q "TEST: pausing 4 s before finishing" "$d/recv.log" &&
			pid=$(pgrep -P "$NET_RECV_PID" | head -1) &&
			[ -n "$pid" ] && break
		sleep 0.05
	done
	[ -n "$pid" ] ||
		fail "$what: no paused receive worker: $(tail -5 "$d/recv.log")"
	python3 "$TOP/tests/lib/keyscan.py" "$key" "$pid" "$NET_RECV_PID" \
		> "$d/scan" || fail "$what: keyscan"
	w=$(sed -n 1p "$d/scan")
	p=$(sed -n 2p "$d/scan")
	echo "$what key: receive worker $w; parent $p"
	case $p in
	*" secret=0 "*) fail "$what: the scan finds no key even in the parent: $p" ;;
	esac
	[ "${w#* }" = "secret=0 pem=0" ] ||
		fail "$what: the receive worker holds the private key: $w"
	wait "$send" || fail "$what: send: $(cat "$d/out") / $(tail -5 "$d/recv.log")"
	"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" \
		"$DST/backup/laptop.test/home/$snap" ||
		fail "$what: received snapshot differs"
	kill "$NET_RECV_PID"; wait "$NET_RECV_PID" 2>/dev/null
	rm -f "$d/recv.log"
}

: > "$d/recv.log"
scan "$d/recv.conf" "$c/backup.test.key" home.20260101T000000Z "EC P-256"
scan "$d/recv-rsa.conf" "$c/rsa.key" home.20260102T000000Z "RSA 2048"
echo "receive worker: no copy of the TLS private key (EC, RSA);" \
	"the parent has it: ok"
