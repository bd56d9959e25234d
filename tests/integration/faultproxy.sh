# The fault-injecting proxy does what the transfer tests rely on: passes
# a connection through untouched and counts its bytes, cuts the k-th
# connection after exactly N client bytes, stalls for the time asked,
# and cuts at seeded random points reproducibly.  The traffic is a real
# TLS handshake and hello (tlspeer).
. "$(dirname "$0")/../lib/common.sh"
fixture_init
TLSPEER=$TOOLS/tlspeer
PROXY=$TOOLS/faultproxy
d=$(scratch_dir)
c=$d/certs
"$TOP/tests/lib/mkcerts.sh" "$c" || fail "mkcerts.sh"

waitfile() { local i; for i in $(seq 50); do [ -s "$1" ] && return 0; sleep 0.1; done; fail "no $1"; }

"$TLSPEER" serve -c "$c/backup.test.crt" -k "$c/backup.test.key" -a "$c/ca.crt" \
	-P "$d/server.port" -C laptop.test -n 7 > "$d/server.log" 2>&1 &
fixture_track_pid $!
server=$!
waitfile "$d/server.port"
sport=$(cat "$d/server.port")

proxy() {	# proxy NAME ARGS...: sets PORT
	"$PROXY" -P "$d/$1.port" -t "$sport" -o "$d/$1.count" -T 60 "${@:2}" &
	fixture_track_pid $!
	waitfile "$d/$1.port"
	PORT=$(cat "$d/$1.port")
}

client() {
	OUT=$(timeout 20 "$TLSPEER" connect -c "$c/laptop.test.crt" \
		-k "$c/laptop.test.key" -a "$c/ca.crt" -H backup.test -p "$PORT" 2>&1)
	RC=$?
}

count() { awk -v k="$2" '$1 == k { print $2 }' "$d/$1.count"; }

# Pass-through, then the second connection cut after 100 client bytes.
proxy cut -c 0,100
client
[ $RC = 0 ] || fail "through the proxy: $OUT"
waitfile "$d/cut.count"
one=$(count cut c2s)
back=$(count cut s2c)
[ "$one" -gt 300 ] && [ "$back" -gt 300 ] || fail "counts c2s=$one s2c=$back"
client
[ $RC = 1 ] || fail "a cut connection succeeded: $OUT"
grep -qE "closed|reset" <<<"$OUT" || fail "cut: client said '$OUT'"
sleep 0.3
[ "$(count cut c2s)" = $((one + 100)) ] || fail "cut after 100 bytes passed $(( $(count cut c2s) - one ))"
[ "$(count cut conns)" = 2 ] && [ "$(count cut cuts)" = 1 ] || fail "$(cat "$d/cut.count")"
note "cut: $(tr '\n' ' ' < "$d/cut.count")"

# A 2 s stall after 50 client bytes delays the handshake by as much.
proxy stall -s 50:2
start=$(date +%s%N)
client
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $RC = 0 ] || fail "stalled connection failed: $OUT"
[ $ms -ge 1900 ] || fail "stall of 2 s took only $ms ms"
note "stall: handshake took $ms ms"

# Seeded random cuts: the same seed cuts at the same points.
for run in r1 r2; do
	proxy $run -r 7:150 -m 2
	client; client
	sleep 0.3
	[ "$(count $run cuts)" = 2 ] || fail "$run: $(cat "$d/$run.count")"
done
[ "$(count r1 c2s)" = "$(count r2 c2s)" ] || fail "same seed, different cut points"
[ "$(count r1 c2s)" -le 600 ] || fail "random cuts beyond 2 * MEAN each"
note "random: $(tr '\n' ' ' < "$d/r1.count")"
wait "$server" 2>/dev/null
echo "faultproxy: ok"
