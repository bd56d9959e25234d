#!/bin/bash
# Runs every test and prints one line per test, then "N passed, N failed".
#   tests/run.sh [PATTERN]   only tests whose name contains PATTERN
# Unit tests are the cmocka binaries in $B/tests/test_* (default: the test
# build, build-test/); integration tests are tests/integration/*.sh on the
# same build (exit 0 pass, 77 skip, else fail); each libFuzzer
# target in build-fuzz/ runs for $FUZZ_SECONDS (0 disables).  With REL_B or
# SAN_B set, the unit tests of that (release or sanitizer) build run too.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=${B:-build-test}
export B
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
pattern=${1:-}
logdir=$(mktemp -d /tmp/btrsend-tests.XXXXXX)
pass=0 failn=0 skipn=0
failed=()

run_one() {
	local name=$1; shift
	local log=$logdir/${name//\//_}.log start end rc
	[ -n "$pattern" ] && [[ $name != *"$pattern"* ]] && return
	start=$(date +%s)
	"$@" > "$log" 2>&1
	rc=$?
	end=$(date +%s)
	case $rc in
	0)  pass=$((pass + 1)); printf 'PASS  %-48s %4ss\n' "$name" $((end - start)) ;;
	77) skipn=$((skipn + 1)); printf 'SKIP  %-48s %s\n' "$name" "$(grep -m1 '^SKIP' "$log")" ;;
	*)  failn=$((failn + 1)); failed+=("$name")
	    printf 'FAIL  %-48s %4ss (exit %d)\n' "$name" $((end - start)) "$rc"
	    tail -n 30 "$log" | sed 's/^/    | /' ;;
	esac
}

unit_tests() {   # unit_tests BUILD_DIR KIND
	local t
	for t in "$1"/tests/test_*; do
		[ -x "$t" ] || continue
		run_one "$2/$(basename "$t")" "$t"
	done
}
unit_tests "$B" unit
# The same unit tests of the release build and built with ASan+UBSan,
# when $REL_B and $SAN_B name those builds.
[ -z "${REL_B:-}" ] || unit_tests "$REL_B" unit-release
[ -z "${SAN_B:-}" ] || unit_tests "$SAN_B" unit-san
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done
if [ "$FUZZ_SECONDS" != 0 ]; then
	for f in build-fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		run_one "fuzz/$(basename "$f")" tests/lib/fuzz.sh "$top/$f" "$FUZZ_SECONDS"
	done
fi

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]} (logs in $logdir)"
[ ${#failed[@]} -eq 0 ] && rm -rf "$logdir"
echo "$pass passed, $failn failed, $skipn skipped"
[ "$failn" -eq 0 ]
