# TLS refusals by the REAL daemon (btrsendd -d receiving) and the real
# sender (btrsendctl send --to): a plaintext client, a TLS 1.2 client, a
# client certificate from another CA, an unlisted client name, and a
# receiver presenting the wrong name are each refused, with a clear line
# on both sides, and nothing is written into the receive root.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 256M
port=$NET_PORT
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_send_conf "$d/send.conf"
BTRSEND_CKPT_BYTES=$((2 << 20)) net_start_receiver_new "$d/recv.conf" "$d/recv.log"

c=$d/certs
btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
echo data > "$SRC/src/f"
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"

net_log_mark "$d/recv.log.new"
# try CERTBASE SERVERNAME PORT: btrsendctl send --to with that identity; must fail
try() {
	cat > "$d/try.conf" <<CONF
tls {
	certificate $c/$1.crt
	key $c/$1.key
	ca $c/ca.crt
}
target backup {
	address 127.0.0.1:$3
	name $2
}
CONF
	timeout 30 "$CTL" send -f "$d/try.conf" --job home --retries 0 --to backup \
		"$SRC/snaps/$snap" > "$d/out" 2> "$d/err" &&
		fail "send as $1 to $2 succeeded"
	cat "$d/err" >&2
}

# plaintext
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "plaintext connect"
printf 'BTRSEND hello in plaintext\r\n\r\n' >&3
timeout 5 cat <&3 > "$d/plain" 2>/dev/null
exec 3>&-
net_log_says 'connection refused: client is not speaking TLS' "plaintext client"

# TLS 1.2
sleep 1 | timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_2 \
	-cert "$c/laptop.test.crt" -key "$c/laptop.test.key" -CAfile "$c/ca.crt" \
	> "$d/s12" 2>&1
grep -qi "alert protocol version\|no protocols available" "$d/s12" ||
	fail "TLS 1.2 client was not refused by version: $(tail -5 "$d/s12")"
net_log_says 'connection refused: client offered only TLS 1.2 or older; TLS 1.3 is required' "TLS 1.2 client"

try laptop-ca2 backup.test "$port"
grep -qiE 'peer refused the connection: our certificate is not signed by its CA' "$d/err" || fail "other-CA client: sender said $(cat "$d/err")"
net_log_says 'connection refused: client certificate is not signed by the configured CA' "client from another CA"

try intruder.test backup.test "$port"
grep -qiE "client certificate 'intruder.test' carries no name listed" "$d/err" || fail "unlisted client: sender said $(cat "$d/err")"
net_log_says "connection refused: client certificate 'intruder.test' carries no name listed as a 'client'" "unlisted client"

# a receiver presenting wrong.test
port2=$((port + 1))
sed -e "s|backup.test.crt|wrong.test.crt|; s|backup.test.key|wrong.test.key|" \
	-e "s|127.0.0.1:$port|127.0.0.1:$port2|; s|state-dir .*|state-dir $d/state2|" \
	"$d/recv.conf" > "$d/wrong.conf"
net_start_receiver "$d/wrong.conf" "$d/wrong.log"
try laptop.test backup.test "$port2"
grep -qiE "server certificate does not carry the name 'backup.test'" "$d/err" || fail "wrong-name server: sender said $(cat "$d/err")"
sleep 0.5
grep -E 'connection refused: peer refused the connection: it rejected our certificate' "$d/wrong.log" >&2 || fail "wrong-name server: its log: $(cat "$d/wrong.log")"

left=$(find "$DST/backup" -mindepth 1 | head -5)
[ -z "$left" ] || fail "something was written into the receive root: $left"
echo "plaintext, TLS 1.2, other CA, unlisted name, wrong server name: refused: ok"
