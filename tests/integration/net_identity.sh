# Client identity on the REAL daemon (btrsendd -d receiving) and the real
# sender (btrsendctl send --to), receive block listing laptop.test and
# desktop.test.  The name becomes the client's directory, so:
#  - a certificate whose names are laptop.test but for case (Laptop.TEST)
#    is refused, logged with the client's address and the certificate's
#    names (before: admitted as laptop.test);
#  - a certificate carrying both listed names is refused as ambiguous,
#    logged with both (before: admitted as whichever the configuration
#    lists first);
#  - a client offering no ALPN gets the no_application_protocol alert,
#    and so does an older btrsend offering only btrsend/1, logged as such;
#    a hello of protocol 1 is answered with ERROR version
#    (before: a silent close after the handshake).
# The listed client itself still gets through; nothing else is written.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 256M
port=$NET_PORT
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup" "client desktop.test"
net_start_receiver_new "$d/recv.conf" "$d/recv.log"

c=$d/certs
btrfs -q subvolume create "$SRC/src"
mkdir "$SRC/snaps"
echo data > "$SRC/src/f"
snap=home.20260101T000000Z
snap_ro "$SRC/src" "$SRC/snaps/$snap"

net_log_mark "$d/recv.log.new"

# send_as CERTBASE: btrsendctl send --to with that identity; status in RC
send_as() {
	cat > "$d/as.conf" <<CONF
tls {
	certificate $c/$1.crt
	key $c/$1.key
	ca $c/ca.crt
}
target backup {
	address 127.0.0.1:$port
	name backup.test
}
CONF
	RC=0
	timeout 60 "$CTL" send -f "$d/as.conf" --job home --retries 0 --to backup \
		"$SRC/snaps/$snap" > "$d/out" 2> "$d/err" || RC=$?
	cat "$d/err" >&2
}

addr='client 127\.0\.0\.1:[0-9]+'

# Case: Laptop.TEST is not laptop.test.
send_as laptop-case
[ "$RC" != 0 ] || fail "Laptop.TEST was admitted (as laptop.test?): $(ls "$DST/backup")"
want="certificate names 'Laptop\.TEST' match the listed client 'laptop\.test' only if case is ignored"
grep -qE "auth error: $addr: $want" "$d/err" ||
	fail "case: sender was told: $(cat "$d/err")"
net_log_says "connection refused: $addr: $want" "case"

# Two listed names: ambiguous, whatever the configuration's order.
send_as two-names
[ "$RC" != 0 ] || fail "a certificate with two listed names was admitted: $(ls "$DST/backup")"
want="certificate carries two listed client names, '(desktop|laptop)\.test' and '(desktop|laptop)\.test'"
grep -qE "auth error: $addr: $want" "$d/err" ||
	fail "two names: sender was told: $(cat "$d/err")"
net_log_says "connection refused: $addr: $want \(its names: 'desktop\.test', 'laptop\.test'\)" "two names"

# No ALPN: the alert, not a silent close.
sleep 1 | timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_3 \
	-cert "$c/laptop.test.crt" -key "$c/laptop.test.key" -CAfile "$c/ca.crt" \
	-servername backup.test > "$d/noalpn" 2>&1
grep -qE "no application protocol|alert number 120" "$d/noalpn" ||
	fail "client without ALPN got no alert: $(tail -5 "$d/noalpn")"
note "no ALPN: $(grep -m1 -E "no application protocol|alert number 120" "$d/noalpn")"
net_log_says "connection refused: client did not offer ALPN btrsend/2" "no ALPN"

# An older btrsend (it offers only btrsend/1): the same alert, and the
# log names the client and says to upgrade it.
sleep 1 | timeout 20 openssl s_client -connect "127.0.0.1:$port" -tls1_3 \
	-cert "$c/laptop.test.crt" -key "$c/laptop.test.key" -CAfile "$c/ca.crt" \
	-servername backup.test -alpn btrsend/1 > "$d/oldalpn" 2>&1
grep -qE "no application protocol|alert number 120" "$d/oldalpn" ||
	fail "btrsend/1 client got no alert: $(tail -5 "$d/oldalpn")"
net_log_says "connection refused: client 127\.0\.0\.1:[0-9]+ runs an older btrsend \(it offered protocol btrsend/1; this host speaks btrsend/2\): upgrade it" "btrsend/1"

[ -z "$(find "$DST/backup" -mindepth 1 | head -5)" ] ||
	fail "a refused client got an area: $(find "$DST/backup" -mindepth 1 | head -5)"

# The listed client, spelled as listed, is admitted into its own area.
send_as laptop.test
[ "$RC" = 0 ] || fail "laptop.test refused: $(cat "$d/err")"
[ -d "$DST/backup/laptop.test/home/$snap" ] || fail "laptop.test's snapshot missing"
[ "$(ls "$DST/backup")" = laptop.test ] || fail "receive root holds: $(ls "$DST/backup")"

# A HELLO of protocol 1 over btrsend/2: ERROR version, saying which end
# to upgrade, to the client and in the receiver's log.
net_peer -V 1 > "$d/oldhello" 2>&1 && fail "a hello of protocol 1 was admitted: $(cat "$d/oldhello")"
grep -q "^refused: peer reports version error: this backup host speaks btrsend protocol 2; the peer speaks 1: upgrade it$" "$d/oldhello" ||
	fail "hello of protocol 1: client was told: $(cat "$d/oldhello")"
net_log_says "this backup host speaks btrsend protocol 2; the peer speaks 1: upgrade it" "hello of protocol 1"

echo "names matched exactly, ambiguous certificates refused, no-ALPN and older peers refused: ok"
