# The release build (build/, what `make install` ships) carries none of
# the fault-injection hooks of proto/base/testing.h: no environment
# variable name, log line, function or variable of a hook, neither among
# its strings (which include the names of the debug info) nor in its
# symbol table.  The test build ($B, build-test/ by default) carries each
# one, so a check that finds nothing because it looks wrongly fails too.
. "$(dirname "$0")/../lib/common.sh"

rel=$TOP/build
tst=$BIN
[ "$B" != build ] || tst=$TOP/build-test
for b in "$rel" "$tst"; do
	[ -x "$b/btrsendd" ] && [ -x "$b/btrsendctl" ] ||
		skip "$b not built (make check builds build/ and build-test/)"
done
command -v strings > /dev/null && command -v nm > /dev/null ||
	skip "strings or nm missing (binutils)"
tmp=$(mktemp -d /tmp/btrsend-hooks.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

envs="BTRSEND_TEST_FLIP_AT BTRSEND_TEST_PAUSE_AT BTRSEND_TEST_RECV_PAUSE
BTRSEND_TEST_IGNORE_PROGRESS BTRSEND_TEST_PROGRESS_DIR BTRSEND_CKPT_BYTES
BTRSENDD_TEST_CRASH_JOB
BTRSENDD_TEST_HANG_JOB BTRSENDD_TEST_BABBLE_JOB BTRSENDD_TEST_WORKER_TIMEOUT"
names="net_test_flip_at net_test_flip net_test_pause recv_test_pause
worker_babble crash_job hang_job babble_job"
any='BTRSENDD?_TEST|BTRSEND_CKPT_BYTES|TEST:|test hook:|(net|recv)_test_|worker_babble|(crash|hang|babble)_job'

for f in btrsendd btrsendctl; do
	strings -a "$rel/$f" > "$tmp/strings" || fail "strings $rel/$f"
	nm -a "$rel/$f" > "$tmp/nm" || fail "nm $rel/$f"
	grep -q ' T main$' "$tmp/nm" || fail "$rel/$f has no symbol table to check"
	! grep -E "$any" "$tmp/strings" > "$tmp/found" ||
		fail "$rel/$f carries test hooks: $(tr '\n' ' ' < "$tmp/found")"
	! grep -E "$any" "$tmp/nm" > "$tmp/found" ||
		fail "$rel/$f has test hook symbols: $(tr '\n' ' ' < "$tmp/found")"
done

# has FILE WORD...: FILE's strings hold each WORD, and the pattern above
# finds it.
has() {
	local f=$1 w
	shift
	strings -a "$f" > "$tmp/strings" || fail "strings $f"
	for w in "$@"; do
		grep -F -- "$w" "$tmp/strings" | grep -qE "$any" ||
			fail "$f lacks $w: the test build should carry it"
	done
}
has "$tst/btrsendd" $envs "TEST:" "test hook:"
has "$tst/btrsendctl" BTRSEND_TEST_FLIP_AT BTRSEND_TEST_PAUSE_AT BTRSEND_TEST_IGNORE_PROGRESS \
	BTRSEND_TEST_PROGRESS_DIR
# Function and variable names are only among the strings with debug info
# (the default OPT=-O2 -g); inlined, the hooks have no symbol of their own.
if readelf -S "$tst/btrsendd" | grep -q '\.debug_str'; then
	has "$tst/btrsendd" $names
fi
echo "release_no_hooks: ok"
