# scenario_populate and scenario_mutate are reproducible: the same
# SCENARIO_SEED gives the same tree (apart from times and inode numbers),
# and another seed gives other file contents.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/scenario.sh"
fixture_init
TREECMP=$TOOLS/treecmp
[ -x "$TREECMP" ] || fail "$TREECMP missing (make integration)"

btrfs_fs F 1G
for v in a b c; do
	btrfs -q subvolume create "$F/$v" || fail "subvolume create"
done
SCENARIO_SEED=7 scenario_populate "$F/a" small
SCENARIO_SEED=7 scenario_populate "$F/b" small
SCENARIO_SEED=8 scenario_populate "$F/c" small

# Times are now-ish except where the scenario sets them.
cmp_opts=(--no-mtime --no-atime)
out=$("$TREECMP" "${cmp_opts[@]}" --holes "$F/a" "$F/b") ||
	fail "same seed, different trees:
$out"

out=$("$TREECMP" "${cmp_opts[@]}" "$F/a" "$F/c")
[ $? = 1 ] || fail "seed 7 and seed 8 gave equal trees"
printf '%s\n' "$out" | grep -q '^files/size-4096: content: first difference at byte 0: ' ||
	fail "seed 8 did not change files/size-4096: $out"
printf '%s\n' "$out" | grep -vE ': (content|size|xattr [^:]+): ' &&
	fail "another seed must change only contents, sizes and xattr values"

for r in 1 2 3; do
	SCENARIO_SEED=7 scenario_mutate "$F/a" $r
	SCENARIO_SEED=7 scenario_mutate "$F/b" $r
done
out=$("$TREECMP" "${cmp_opts[@]}" --holes "$F/a" "$F/b") ||
	fail "same seed and rounds, different trees:
$out"
echo "scenario is deterministic: ok"
