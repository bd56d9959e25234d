# TLS authentication matrix, real TLS on loopback, the daemon's own tls.c
# and wireio.c on both ends (tlspeer): a listed client is admitted (by CN
# or DNS SAN); a plaintext client, a TLS 1.2 client, a client without a
# certificate, one from another CA, an unlisted name, a client without
# ALPN btrsend/2, an older btrsend (ALPN btrsend/1, or a hello of protocol
# 1), a server with the wrong name and an older server are all refused,
# with a clear line on both sides.
. "$(dirname "$0")/../lib/common.sh"
fixture_init
TLSPEER=$TOOLS/tlspeer
[ -x "$TLSPEER" ] || fail "$TLSPEER not built"
d=$(scratch_dir)
c=$d/certs
"$TOP/tests/lib/mkcerts.sh" "$c" || fail "mkcerts.sh"

# serve NAME CERTBASE NCONN: a tlspeer receiver admitting laptop.test and
# desktop.test; sets PORT.
serve() {
	local log=$d/$1.server cert=$2 n=$3 i
	"$TLSPEER" serve -c "$c/$cert.crt" -k "$c/$cert.key" -a "$c/ca.crt" \
		-P "$d/$1.port" -C laptop.test -C desktop.test -n "$n" \
		> "$log" 2>&1 &
	fixture_track_pid $!
	SERVER_PID=$!
	for i in $(seq 50); do [ -s "$d/$1.port" ] && break; sleep 0.1; done
	PORT=$(cat "$d/$1.port") || fail "server $1 did not start"
}

client() {	# client CERTBASE SERVERNAME [ARGS]: output in $OUT, status $RC
	local cert=$1 name=$2; shift 2
	OUT=$(timeout 20 "$TLSPEER" connect -c "$c/$cert.crt" -k "$c/$cert.key" \
		-a "$c/ca.crt" -H "$name" -p "$PORT" "$@" 2>&1)
	RC=$?
}

expect_client() {	# expect_client CASE RC PATTERN
	[ "$RC" = "$2" ] || fail "$1: client exit $RC, want $2 ($OUT)"
	grep -qE "$3" <<<"$OUT" || fail "$1: client said '$OUT', want /$3/"
	note "$1: client: $OUT"
}

sslclient() {	# sslclient ARGS...: openssl s_client as a foreign client
	# Input stays open a moment: a TLS 1.3 client sees the server's
	# verdict on its certificate only after the handshake.
	OUT=$(sleep 1 | timeout 20 openssl s_client -connect "127.0.0.1:$PORT" \
		-CAfile "$c/ca.crt" -servername backup.test "$@" 2>&1)
}

serve main backup.test 10

client laptop.test backup.test
expect_client "listed client (CN)" 0 "^connected"
client san-only backup.test
expect_client "listed client (DNS SAN only)" 0 "^connected"
client laptop-ca2 backup.test
expect_client "client from another CA" 1 "not signed by its CA"
client intruder.test backup.test
expect_client "unlisted client" 1 "auth error: client certificate 'intruder.test'.*not? .*listed|auth error: .*intruder.test.* no name listed"
client laptop.test backup.test -V 1
expect_client "protocol version 1" 1 "^refused: peer reports version error: this backup host speaks btrsend protocol 2; the peer speaks 1: upgrade it$"

# Plaintext: the client is told in plaintext what the port speaks.
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "plaintext connect"
printf 'btrsend please\n' >&3
OUT=$(timeout 10 cat <&3 2>/dev/null)
exec 3>&-
grep -q "TLS 1.3 only" <<<"$OUT" || fail "plaintext client got '$OUT'"
note "plaintext: client: $OUT"

sslclient -tls1_2 -alpn btrsend/2 -cert "$c/laptop.test.crt" -key "$c/laptop.test.key"
grep -q "alert protocol version" <<<"$OUT" || fail "TLS 1.2 client: $OUT"
sslclient -tls1_3 -alpn btrsend/2
grep -qE "certificate required|alert" <<<"$OUT" || fail "no-certificate client: $OUT"
sslclient -tls1_3 -alpn http/1.1 -cert "$c/laptop.test.crt" -key "$c/laptop.test.key"
grep -q "no application protocol" <<<"$OUT" || fail "wrong-ALPN client: $OUT"
# An older btrsend offers only btrsend/1: the same alert, and the log
# says what it is and what to do.
sslclient -tls1_3 -alpn btrsend/1 -cert "$c/laptop.test.crt" -key "$c/laptop.test.key"
grep -q "no application protocol" <<<"$OUT" || fail "btrsend/1 client: $OUT"

wait "$SERVER_PID" || fail "server exited badly: $(cat "$d/main.server")"
cat "$d/main.server" >&2
want=(
	"^admitted laptop.test$"
	"^admitted laptop.test$"
	"^refused: client certificate is not signed by the configured CA"
	"^refused: client certificate 'intruder.test' carries no name listed"
	"^refused: laptop.test: this backup host speaks btrsend protocol 2; the peer speaks 1: upgrade it$"
	"^refused: client is not speaking TLS \(plaintext"
	"^refused: client offered only TLS 1.2 or older; TLS 1.3 is required"
	"^refused: client presented no certificate"
	"^refused: client did not offer ALPN btrsend/2"
	"^refused: client 127\.0\.0\.1:[0-9]+ runs an older btrsend \(it offered protocol btrsend/1; this host speaks btrsend/2\): upgrade it$"
)
i=0
while IFS= read -r line; do
	[ $i -lt ${#want[@]} ] || fail "server: unexpected line '$line'"
	grep -qE "${want[$i]}" <<<"$line" || fail "server line $((i + 1)): '$line', want /${want[$i]}/"
	i=$((i + 1))
done < "$d/main.server"
[ $i = ${#want[@]} ] || fail "server printed $i lines, want ${#want[@]}"

# A receiver whose certificate does not carry the target's name.
serve wrong wrong.test 1
client laptop.test backup.test
expect_client "server with the wrong name" 1 "server certificate does not carry the name 'backup.test'"
wait "$SERVER_PID"
grep -q "^refused: peer refused the connection: it rejected our certificate" "$d/wrong.server" ||
	fail "wrong-name server said: $(cat "$d/wrong.server")"

# An older server selects only btrsend/1 (openssl s_server standing in
# for it): our client names the host and says to upgrade it.
OLDPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
openssl s_server -accept "127.0.0.1:$OLDPORT" -naccept 1 -tls1_3 \
	-cert "$c/backup.test.crt" -key "$c/backup.test.key" -CAfile "$c/ca.crt" \
	-alpn btrsend/1 -quiet < /dev/null > "$d/old.server" 2>&1 &
fixture_track_pid $!
for i in $(seq 50); do
	ss -Hltn "sport = :$OLDPORT" | grep -q . && break
	sleep 0.1
done
PORT=$OLDPORT
client laptop.test backup.test
expect_client "older server" 1 "^refused: backup\.test does not speak btrsend/2 \(it may run an older btrsend\): upgrade it$"
echo "tls auth matrix: ok"
