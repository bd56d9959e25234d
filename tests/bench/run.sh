#!/bin/bash
# Runs every benchmark tests/bench/bench_*.sh (or those whose name contains
# $1).  Each prints its own results; a failing one makes this fail.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export B=${B:-build}
pattern=${1:-}
rc=0
for b in tests/bench/bench_*.sh; do
	[ -f "$b" ] || continue
	[ -n "$pattern" ] && [[ $b != *"$pattern"* ]] && continue
	echo "== $(basename "$b" .sh)"
	bash "$b" || { echo "bench: $(basename "$b") failed" >&2; rc=1; }
done
exit $rc
