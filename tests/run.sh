#!/bin/bash
# Runs every test and prints one line per test, then "N passed, N failed".
#   tests/run.sh [PATTERN]   only tests whose name contains PATTERN
# Unit tests are the cmocka binaries in $B/tests/test_* (default: the test
# build, build-test/); integration tests are tests/integration/*.sh on the
# same build (exit 0 pass, 77 skip, else fail); each libFuzzer
# target in build-fuzz/ runs for $FUZZ_SECONDS (0 disables).  With REL_B or
# SAN_B set, the unit tests of that (release or sanitizer) build run too.
#
# Integration tests named in $SIDE_TESTS (default: restore_*) run in a
# second lane, one after another, alongside the rest (CI has two cores):
# they share nothing with other tests (own fixtures, random ports) and
# measure bytes, not time.  TEST_LANES=1 runs everything in one lane.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
B=${B:-build-test}
export B
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
pattern=${1:-}
logdir=$(mktemp -d /tmp/btrsend-tests.XXXXXX)
results=$logdir/results
: > "$results"
lanes=${TEST_LANES:-2}
side=${SIDE_TESTS:-restore_*}

# run_one NAME CMD...: one line for it on stdout and in $results.
run_one() {
	local name=$1; shift
	local log=$logdir/${name//\//_}.log start end rc line
	[ -n "$pattern" ] && [[ $name != *"$pattern"* ]] && return
	start=$(date +%s)
	"$@" > "$log" 2>&1
	rc=$?
	end=$(date +%s)
	case $rc in
	0)  line=$(printf 'PASS  %-48s %4ss' "$name" $((end - start))) ;;
	77) line=$(printf 'SKIP  %-48s %s' "$name" "$(grep -m1 '^SKIP' "$log")") ;;
	*)  line=$(printf 'FAIL  %-48s %4ss (exit %d)' "$name" $((end - start)) "$rc")
	    line+=$'\n'$(tail -n 30 "$log" | sed 's/^/    | /') ;;
	esac
	# one write, so that the lanes' lines do not mix
	printf '%s\n' "$line"
	printf '%s %s\n' "${line%% *}" "$name" >> "$results"
}

# is_side NAME: an integration test of the second lane.
is_side() {
	local g globs
	[ "$lanes" -ge 2 ] || return 1
	read -ra globs <<< "$side"
	for g in "${globs[@]}"; do
		[[ $1 == $g ]] && return 0
	done
	return 1
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
side_pid=
if [ "$lanes" -ge 2 ]; then
	(
		for t in tests/integration/*.sh; do
			[ -f "$t" ] && is_side "$(basename "$t" .sh)" || continue
			run_one "integration/$(basename "$t" .sh)" bash "$t"
		done
	) &
	side_pid=$!
fi
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	is_side "$(basename "$t" .sh)" && continue
	run_one "integration/$(basename "$t" .sh)" bash "$t"
done
[ -z "$side_pid" ] || wait "$side_pid"
if [ "$FUZZ_SECONDS" != 0 ]; then
	for f in build-fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		run_one "fuzz/$(basename "$f")" tests/lib/fuzz.sh "$top/$f" "$FUZZ_SECONDS"
	done
fi

pass=$(grep -c '^PASS' "$results")
failn=$(grep -c '^FAIL' "$results")
skipn=$(grep -c '^SKIP' "$results")
failed=$(awk '$1 == "FAIL" { printf "%s%s", sep, $2; sep = " " }' "$results")
[ "$failn" -gt 0 ] && echo "failed: $failed (logs in $logdir)"
[ "$failn" -eq 0 ] && rm -rf "$logdir"
echo "$pass passed, $failn failed, $skipn skipped"
[ "$failn" -eq 0 ]
