#!/bin/bash
# fuzz.sh BINARY SECONDS: run one libFuzzer target from its seed corpus
# (tests/fuzz/corpus/<name>/, copied so the tree stays clean).
set -euo pipefail
bin=$1 secs=$2
name=$(basename "$bin")
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/btrsend-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
[ -d "$top/tests/fuzz/corpus/$name" ] && cp -r "$top/tests/fuzz/corpus/$name/." "$work/corpus/"
cd "$work"
"$bin" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/" corpus > "$work/log" 2>&1 || {
	tail -40 "$work/log" >&2
	for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -e "$a" ] || continue
		mkdir -p "$top/build-fuzz/artifacts"
		cp "$a" "$top/build-fuzz/artifacts/"
		echo "fuzz: artifact saved to build-fuzz/artifacts/$(basename "$a")" >&2
	done
	exit 1
}
grep -E '^stat::number_of_executed_units' "$work/log" >&2 || true
