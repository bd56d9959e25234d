# Frame limits per direction (issue 16, finding 3): an authenticated
# client sends the bare header of a LIST-REPLY (a server-only message)
# claiming 16 MiB, and no payload.  The receive worker must refuse it on
# the header, before reading or buffering a payload byte: the ERROR comes
# back at once (a worker that waited for the 16 MiB, to buffer them, would
# answer only at the client's timeout), naming the type and the
# direction, in the client's view and in the receiver's log.  The same
# for an LS-REPLY, a CATALOG-REPLY and a PRUNE-REPLY (protocol 2: a
# BEGIN-REPLY or DONE may come from a client, in a restore).  The
# receiver keeps serving.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
net_fixture d 256M
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
net_start_receiver_new "$d/recv.conf" "$d/recv.log"
log=$d/recv.log.new

peer() { NET_PEER_SECS=30 net_peer "$@"; }

bad=()
# type:len name
for t in "3:16777216 list-reply" "17:16777216 ls-reply" "15:65536 catalog-reply" "11:8 prune-reply"; do
	spec=${t% *}
	name=${t#* }
	net_log_mark "$log"
	peer -R "$spec" > "$d/raw.out" 2>&1
	cat "$d/raw.out" >&2
	ms=$(sed -n 's/^after \([0-9]*\) ms$/\1/p' "$d/raw.out")
	grep -q "^refused: peer reports protocol error: .*$name is sent only by a server; refused from the client on its header" "$d/raw.out" ||
		bad+=("$name: not refused on its header: $(tr '\n' ' ' < "$d/raw.out")")
	[ -n "$ms" ] && [ "$ms" -lt 3000 ] ||
		bad+=("$name: answered after ${ms:-?} ms, not at once")
	for i in $(seq 50); do
		tail -c +$((NET_LOG_MARK + 1)) "$log" | grep -q "$name is sent only" && break
		sleep 0.1
	done
	tail -c +$((NET_LOG_MARK + 1)) "$log" |
		grep -q "laptop.test: protocol error: frame 1 at byte [0-9]*: message type ${spec%:*} (${spec#*:} payload bytes): $name is sent only by a server; refused from the client" ||
		bad+=("$name: receiver log does not name type and direction: $(tail -c +$((NET_LOG_MARK + 1)) "$log")")
done
[ ${#bad[@]} -eq 0 ] || fail "$(printf '%s; ' "${bad[@]}")"

# still serving
peer -L home > "$d/list.out" || fail "list after the refusals: $(cat "$d/list.out")"
grep -q "^reply: list-reply" "$d/list.out" || fail "list: $(cat "$d/list.out")"
echo "server-only frames from a client refused on the header, at once: ok"
