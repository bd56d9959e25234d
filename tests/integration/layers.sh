# The include rules between layers hold (tests/lib/layers.sh,
# docs/architecture.md "Layers"), and the checker catches a break: a copy
# of the tree where the base layer includes the daemon must fail, naming
# the file and line, and so must a private header included from another
# folder.
. "$(dirname "$0")/../lib/common.sh"

bash "$TOP/tests/lib/layers.sh" "$TOP" || fail "include rules broken (above)"

tmp=$(mktemp -d /tmp/btrsend-layers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -r "$TOP/proto" "$TOP/engine" "$TOP/conf" "$TOP/daemon" "$tmp/"
check_catches() {   # FILE INCLUDE: adding it must be reported
	cp "$TOP/$1" "$tmp/$1"
	printf '#include "%s"\n' "$2" >> "$tmp/$1"
	out=$(bash "$TOP/tests/lib/layers.sh" "$tmp") &&
		fail "$1 including $2 was not caught"
	grep -q "^$1:[0-9]*: .* ($2)" <<< "$out" ||
		fail "$1 including $2: report does not name the line: $out"
	cp "$TOP/$1" "$tmp/$1"
}
check_catches proto/base/log.c daemon/parent.h
check_catches proto/msg/wire.h proto/stream/digest.h
check_catches engine/apply.c daemon/net/tls.h
check_catches conf/parse.c engine/snapshot.h
check_catches daemon/net/netsend.c daemon/worker/worker.h
check_catches daemon/ctl/ctl_admin.c daemon/parent.h
check_catches daemon/worker/jobrun.c daemon/stats.h
check_catches daemon/ctl/ctl_netsend.c daemon/net/netsend_impl.h
echo "PASS: layers"
