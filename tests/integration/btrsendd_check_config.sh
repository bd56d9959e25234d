# btrsendd -n: a valid config says "configuration OK" and exits 0; -v
# prints the canonical form, which itself passes -n and prints the same;
# a config with three errors prints all three as file:line:column and
# exits 2.  No filesystem is needed, only the real binary.
. "$(dirname "$0")/../lib/common.sh"

[ -x "$BTRSENDD" ] || fail "$BTRSENDD not built (make integration)"
tmp=$(mktemp -d /tmp/btrsendd-check.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

run() {   # run EXPECTED_RC ARGS...: output in $tmp/out, $tmp/err
	local want=$1 rc=0
	shift
	"$BTRSENDD" "$@" > "$tmp/out" 2> "$tmp/err" || rc=$?
	[ "$rc" = "$want" ] || {
		cat "$tmp/err" >&2
		fail "btrsendd $*: exit $rc, expected $want"
	}
}

# The shipped example (the one of design.md) is valid.
run 0 -n -f "$TOP/conf/btrsend.conf.example"
[ "$(cat "$tmp/err")" = "configuration OK" ] || fail "no 'configuration OK'"
[ -s "$tmp/out" ] && fail "-n without -v printed to stdout"

# So is the example of btrsend.conf(5).
sed -n '/^\.SH EXAMPLE/,/^\.fi/p' "$TOP/conf/btrsend.conf.5" |
	sed '1,2d;$d' > "$tmp/man.conf"
grep -q '^job home {$' "$tmp/man.conf" || fail "no example found in btrsend.conf.5"
run 0 -n -f "$tmp/man.conf"

# -v: the canonical form parses and is a fixed point.
run 0 -n -v -f "$TOP/conf/btrsend.conf.example"
cp "$tmp/out" "$tmp/canon1.conf"
grep -q '^job home {$' "$tmp/canon1.conf" || fail "canonical form lacks the job"
grep -q 'bandwidth 50M$' "$tmp/canon1.conf" || fail "canonical form lacks bandwidth"
run 0 -n -v -f "$tmp/canon1.conf"
[ "$(cat "$tmp/err")" = "configuration OK" ] || fail "canonical form not OK"
cmp -s "$tmp/canon1.conf" "$tmp/out" || {
	diff "$tmp/canon1.conf" "$tmp/out" >&2
	fail "printing the canonical form again changed it"
}

# Three errors on three lines: all reported, in order, then exit 2.
cat > "$tmp/bad.conf" <<'CONF'
state-dir var/lib/btrsend
job home {
	source /srv/pool/@home
	snapshot-dir /srv/pool/.snapshots
	schedule every 10min
	send-to backup1
}
CONF
cat > "$tmp/want" <<WANT
$tmp/bad.conf:1:11: state-dir 'var/lib/btrsend': path must be absolute
$tmp/bad.conf:5:17: schedule every '10min': unknown unit (use s, m, h, d or w)
$tmp/bad.conf:6:10: job 'home' sends to unknown target 'backup1'
btrsendd: 3 errors in $tmp/bad.conf
WANT
run 2 -n -f "$tmp/bad.conf"
diff "$tmp/want" "$tmp/err" >&2 || fail "errors differ from the expected three"
[ -s "$tmp/out" ] && fail "a failed check printed to stdout"

# Errors inside an include name the included file, relative to the includer.
mkdir "$tmp/conf.d"
printf 'include "conf.d/jobs.conf"\n' > "$tmp/main.conf"
printf 'job j {\n  source /s\n}\n' > "$tmp/conf.d/jobs.conf"
run 2 -n -f "$tmp/main.conf"
grep -qx "$tmp/conf.d/jobs.conf:1:1: job 'j' has no 'snapshot-dir' (required)" \
	"$tmp/err" || { cat "$tmp/err" >&2; fail "include error not located"; }

# A missing file is a config error too.
run 2 -n -f "$tmp/absent.conf"
grep -q "^$tmp/absent.conf: cannot read: No such file or directory$" \
	"$tmp/err" || fail "missing file not reported"

# The daemon refuses to start on a config with errors, naming them.
run 2 -d -f "$tmp/absent.conf"
grep -q "^btrsendd: $tmp/absent.conf: cannot read" "$tmp/err" ||
	fail "daemon start with a missing config: error not reported"

# Running it for real with certificates that do not exist fails, naming
# the file (the example has a receive block, which needs them).
run 1 -d -f "$TOP/conf/btrsend.conf.example"
grep -q 'tls certificate /etc/btrsend/tls/host.crt' "$tmp/err" ||
	fail "no message naming the missing certificate"
run 0 -h
grep -q '^usage: btrsendd' "$tmp/out" || fail "-h prints no usage"
run 0 --help
run 2 -x
grep -q '^usage: btrsendd' "$tmp/err" || fail "bad option prints no usage"
run 2 -n extra-argument
echo "btrsendd -n: ok"
