# A hostile backup host (tests/lib/tlspeer serve -S: the right
# certificate, then whatever it likes) cannot make `btrsendctl restore`
# write outside DEST: streams with paths escaping DEST ("../x", an
# absolute path, through a symlink the stream made, renames and links
# out and in), oversized entries (a 4 GiB command, a TLV longer than its
# command, a path deeper than PATH_MAX, a frame header of 4 GiB), a
# stream for another subvolume than BEGIN announced and a BEGIN naming
# another snapshot than the one asked are each refused with an error
# that says so, within 60 s, leaving the canaries beside DEST and under
# /tmp untouched and DEST without a finished snapshot.  The same fake
# host with a well-formed stream is obeyed: the refusals are for what
# each case breaks.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
. "$TOP/tests/lib/restore.sh"
fixture_init
btrfs_fs R 512M
d=$(scratch_dir)
net_setup "$d"
RS_DIR=$d RS_OUT=$d/out RS_ERR=$d/err RS_SECS=60
# Canaries: beside DEST ($R/outside, what "../outside/victim" reaches)
# and an absolute one outside the fixture.
abs=$(mktemp -d /tmp/btrsend-canary.XXXXXX)
trap 'fixture_cleanup; rm -rf "$abs"' EXIT
for c in "$R/outside" "$abs"; do
	mkdir -p "$c"
	echo "victim, unchanged" > "$c/victim"
	chmod 0644 "$c/victim"
done
uuid=$(cat /proc/sys/kernel/random/uuid)
snapshot_all() {	# everything a restore could touch outside DEST
	{
		find "$R" -mindepth 1 -path "$R/d.*" -prune -o \
			-printf '%p %y %m %U %G %s %T@\n'
		find "$abs" -printf '%p %y %m %U %G %s %T@\n'
	} 2>/dev/null | sort
	cat "$R/outside/victim" "$abs/victim"
	getfattr -R -d -m - -h "$R/outside" "$abs" 2>/dev/null
	ls -d /escaped /renamed-out /linked-out /stolen 2>/dev/null
}
snapshot_all > "$d/before"

# fake STREAM [tlspeer serve options]: the fake backup host serving
# STREAM, and $d/fake.conf, laptop.test's configuration that points at it.
fake() {
	local i
	rm -f "$d/fake.port"
	"$TOOLS/tlspeer" serve -c "$NET_CERTS/backup.test.crt" \
		-k "$NET_CERTS/backup.test.key" -a "$NET_CERTS/ca.crt" \
		-C laptop.test -P "$d/fake.port" -n 8 -L evil -S "$1" "${@:2}" \
		> "$d/fake.out" 2>&1 &
	FAKE=$!
	fixture_track_pid $FAKE
	for i in $(seq 50); do [ -s "$d/fake.port" ] && break; sleep 0.1; done
	[ -s "$d/fake.port" ] || fail "the fake host did not start: $(cat "$d/fake.out")"
	rs_conf "$d/fake.conf" "$(cat "$d/fake.port")"
}
unfake() {
	kill "$FAKE" 2>/dev/null
	wait "$FAKE" 2>/dev/null
}

# Control: a well-formed stream is restored, whole and as a subtree.
"$TOOLS/mkstream" valid "$d/valid" || fail "mkstream valid"
fake "$d/valid"
mkdir "$R/d.valid"
rs_restore -c "$d/fake.conf" evil "$R/d.valid"
unfake
[ "$(cat "$R/d.valid/evil/ok")" = fine ] ||
	fail "the fake host's valid stream was not restored: $(ls -laR "$R/d.valid"; cat "$d/fake.out")"
[ "$(btrfs property get -ts "$R/d.valid/evil" ro)" = "ro=true" ] || fail "valid: not read-only"
fake "$d/valid"
mkdir "$R/d.valid-path"
rs_restore -c "$d/fake.conf" --path evil evil "$R/d.valid-path"
unfake
[ "$(cat "$R/d.valid-path/evil/ok")" = fine ] ||
	fail "the fake host's valid subtree was not restored: $(ls -laR "$R/d.valid-path"; cat "$d/fake.out")"

# refused NAME WHY [restore args...]: the restore (default: whole
# snapshot evil) against the running fake host fails in time with an
# error, and nothing outside DEST ($R/d.NAME) changed, nor is a finished
# snapshot in DEST.
refused() {
	local name=$1 why=$2 dest=$R/d.$1 rc
	shift 2
	mkdir "$dest"
	[ $# -gt 0 ] || set -- evil
	_rs_run -c "$d/fake.conf" ${retries:+--retries "$retries"} "$@" "$dest"
	rc=$?
	unfake
	[ $rc != 0 ] || fail "$name ($why): restore succeeded: $(cat "$RS_OUT" "$RS_ERR")"
	[ $rc != 124 ] || fail "$name ($why): restore still running after 60 s: $(cat "$RS_OUT" "$RS_ERR")"
	[ -s "$RS_ERR" ] || fail "$name ($why): refused without a word"
	grep -q "AddressSanitizer\|runtime error\|Segmentation\|core dumped" "$RS_ERR" &&
		fail "$name: the client crashed: $(cat "$RS_ERR")"
	note "$name ($why): $(tail -1 "$RS_ERR") [host: $(tr '\n' ' ' < "$d/fake.out")]"
	snapshot_all > "$d/after"
	diff "$d/before" "$d/after" >&2 || fail "$name ($why): written outside DEST (above)"
	if [ -e "$dest/evil" ] && [ "$(btrfs property get -ts "$dest/evil" ro 2>/dev/null)" = "ro=true" ]; then
		fail "$name ($why): DEST holds a finished snapshot"
	fi
	if [ -n "${want_data:-}" ]; then
		grep -q "^begin-reply" "$d/fake.out" ||
			fail "$name: the client never took the stream, so the test proves nothing: $(cat "$d/fake.out")"
	fi
}

# Streams that escape DEST, or are too big somewhere: whole snapshots.
# (--retries 0: each case once, whatever the client's retry policy;
# that a refused stream is not retried is checked last)
retries=0
want_data=1
for c in dotdot dotdot-deep absolute symlink-abs-dir symlink-rel-dir \
	 symlink-abs-file symlink-rel-file chmod-symlink truncate-symlink \
	 xattr-symlink-dir rename-out rename-in link-out link-in \
	 link-via-symlink unlink-via-symlink clone-outside deep huge-offset \
	 huge-cmd huge-tlv; do
	"$TOOLS/mkstream" $c "$d/$c" "$abs" "$uuid" || fail "mkstream $c"
	fake "$d/$c"
	refused $c "hostile stream"
done
# The same streams as subtrees (applied into a plain directory).
for c in dotdot absolute symlink-abs-dir symlink-rel-file rename-out link-in \
	 unlink-via-symlink deep huge-cmd; do
	"$TOOLS/mkstream" $c "$d/$c" "$abs" "$uuid" || fail "mkstream $c"
	fake "$d/$c"
	refused path-$c "hostile subtree stream" --path evil evil
done

# A stream for another subvolume than BEGIN announced.
fake "$d/valid" -U "$uuid"
refused other-subvol "SUBVOL is not what BEGIN announced"
# A BEGIN naming another snapshot than the one asked for (refused at
# BEGIN: no stream taken).
fake "$d/valid" -N other
want_data= refused other-name "BEGIN names another snapshot"
grep -q "other" "$RS_ERR" || fail "other-name: the error does not name what came: $(cat "$RS_ERR")"

# Frames no honest host sends: a 4 GiB reply header, a DATA header of
# 4 GiB, a reply of the wrong type.
want_data=
fake "$d/valid" -R 15:4294967295
refused catalog-4g "CATALOG-REPLY of 4 GiB" latest
fake "$d/valid" -R 4:4294967295
refused begin-4g "BEGIN of 4 GiB"
fake "$d/valid" -R 6:4294967295
refused data-4g "DATA of 4 GiB"
fake "$d/valid" -R 3:16
refused list-reply "LIST-REPLY instead of BEGIN"
# A refused stream is refused for good: not tried again (default
# retries), the error names the command and what is wrong with it.
"$TOOLS/mkstream" dotdot "$d/dotdot" "$abs" "$uuid" || fail "mkstream dotdot"
retries= want_data=1
fake "$d/dotdot"
refused retried "hostile stream, default retries"
grep -q "unsafe\|outside\|escap\|\.\." "$RS_ERR" || fail "retried: the error does not say what is wrong: $(cat "$RS_ERR")"
grep -q "retrying" "$RS_ERR" && fail "a hostile stream was retried: $(cat "$RS_ERR")"

echo "hostile backup host refused, nothing written outside DEST: ok"
