# The systemd files and make install/uninstall: `make install DESTDIR=`
# puts every file where systemd, man and bash-completion look, with sane
# modes, and points the unit at the installed SBINDIR and SYSCONFDIR;
# `systemd-analyze verify` passes on the installed unit (its ExecStart and
# its man: pages resolved in the install root) and fails once uninstalled;
# `systemd-analyze security --offline` rates the sandbox 5.0 or better;
# sysusers.d and tmpfiles.d, applied to a scratch root, make the group and
# the directories the unit expects; `make uninstall` removes every file
# and leaves an admin's btrsend.conf.
#
# Why a rewritten copy and not `verify --root`: systemd 252's verify
# --root wants a whole unit tree (sysinit.target, /bin/kill) inside the
# root; the copy checks the same unit with its ExecStart pointing into
# DESTDIR, and MANPATH makes Documentation= resolve against the installed
# pages.
. "$(dirname "$0")/../lib/common.sh"

command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed (make deps)"
command -v man >/dev/null || skip "man not installed (make deps)"
tmp=$(mktemp -d /tmp/btrsend-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
san=0 testing=0
[ "$B" = build-san ] && san=1
[ "$B" = build-test ] && testing=1

mk() {   # mk TARGET VAR=VALUE...: make in the tree, output in $tmp/make.log
	make -C "$TOP" --no-print-directory SAN=$san TESTING=$testing "$@" > "$tmp/make.log" 2>&1 || {
		cat "$tmp/make.log" >&2
		fail "make $*"
	}
}

# mode_is PATH MODE
mode_is() {
	[ -e "$1" ] || fail "not installed: $1"
	[ "$(stat -c %a "$1")" = "$2" ] || fail "$1: mode $(stat -c %a "$1"), want $2"
}

unit_value() {   # unit_value FILE KEY
	sed -n "s/^$2=//p" "$1"
}

# A packager's install: PREFIX=/usr.
D=$tmp/root
mk install DESTDIR="$D" PREFIX=/usr
mode_is "$D/usr/bin/btrsendctl" 755
mode_is "$D/usr/sbin/btrsendd" 755
for f in usr/share/man/man8/btrsendd.8 usr/share/man/man8/btrsendctl.8 \
    usr/share/man/man5/btrsend.conf.5 etc/btrsend/btrsend.conf.example \
    usr/lib/systemd/system/btrsendd.service usr/lib/tmpfiles.d/btrsend.conf \
    usr/lib/sysusers.d/btrsend.conf \
    usr/share/bash-completion/completions/btrsendctl; do
	mode_is "$D/$f" 644
done
cmp -s "$D/usr/sbin/btrsendd" "$TOP/$B/btrsendd" || fail "installed btrsendd is not the built one"
cmp -s "$D/usr/lib/systemd/system/btrsendd.service" "$TOP/systemd/btrsendd.service" ||
	fail "PREFIX=/usr: the installed unit should be the source unit unchanged"
find "$D" -type f | sed "s|^$D/||" | sort > "$tmp/installed"
[ "$(wc -l < "$tmp/installed")" = 10 ] || {
	cat "$tmp/installed" >&2
	fail "expected exactly 10 installed files"
}
"$D/usr/sbin/btrsendd" -n -f "$D/etc/btrsend/btrsend.conf.example" 2> /dev/null ||
	fail "the installed example config does not pass btrsendd -n"

# The installed completion finds the installed btrsendd in ../sbin.
jobs=$(BTRSEND_CONF=$D/etc/btrsend/btrsend.conf.example bash -c '
	. "$1"; COMP_WORDS=("$2" run ""); COMP_CWORD=2; _btrsendctl
	echo "${COMPREPLY[*]}"' _ "$D/usr/share/bash-completion/completions/btrsendctl" \
	"$D/usr/bin/btrsendctl")
[ "$jobs" = home ] || fail "installed completion offers jobs '$jobs', want 'home'"

# systemd-analyze verify on the installed unit, resolved inside DESTDIR.
unit=$D/usr/lib/systemd/system/btrsendd.service
cp "$unit" "$tmp/installed.service"
mkdir "$tmp/verify"
verify() {
	sed -e "s|^ExecStart=/usr/sbin/|ExecStart=$D/usr/sbin/|" "$tmp/installed.service" \
		> "$tmp/verify/btrsendd.service"
	MANPATH=$D/usr/share/man systemd-analyze verify \
		"$tmp/verify/btrsendd.service" > "$tmp/verify.log" 2>&1
}
verify || { cat "$tmp/verify.log" >&2; fail "systemd-analyze verify failed"; }
[ -s "$tmp/verify.log" ] && { cat "$tmp/verify.log" >&2; fail "systemd-analyze verify warned"; }

# systemd's own reading of the sandbox: exposure at most 5.0 ("OK"; 4.7
# when written, with receive's needs: root, devices, set-id files).
systemd-analyze security --offline=true "$tmp/verify/btrsendd.service" \
	> "$tmp/security.log" 2>&1 || { cat "$tmp/security.log" >&2; fail "security --offline"; }
exposure=$(sed -n 's/^.*Overall exposure level for btrsendd.service: \([0-9.]*\) .*/\1/p' \
	"$tmp/security.log")
[ -n "$exposure" ] || { cat "$tmp/security.log" >&2; fail "no exposure level"; }
awk -v e="$exposure" 'BEGIN { exit !(e <= 5.0) }' || {
	grep '✗' "$tmp/security.log" >&2
	fail "exposure level $exposure > 5.0: hardening was lost"
}
note "systemd-analyze security: exposure $exposure"

# The unit's settings the rest relies on.
[ "$(unit_value "$unit" Type)" = notify ] || fail "Type is not notify"
[ -n "$(unit_value "$unit" WatchdogSec)" ] || fail "no WatchdogSec"
[ "$(unit_value "$unit" ExecReload)" = '/bin/kill -HUP $MAINPID' ] || fail "ExecReload"
# No state in shared places: an IPC namespace of its own, and the
# progress records in /run/btrsend kept across a restart after a crash.
[ "$(unit_value "$unit" PrivateIPC)" = yes ] || fail "PrivateIPC=yes missing"
[ "$(unit_value "$unit" RuntimeDirectoryPreserve)" = restart ] ||
	fail "RuntimeDirectoryPreserve=restart missing: a restart drops the progress records"
# Receiving device nodes and set-id files: no device allow list (explicit
# or implied by ProtectClock), no set-id restriction.
on='(yes|true|on|1)'
grep -E "^(PrivateDevices=$on|DevicePolicy=(closed|strict)|DeviceAllow=|ProtectClock=$on|RestrictSUIDSGID=$on)" \
	"$unit" >&2 && fail "a setting that breaks receiving device nodes or setuid files"

# sysusers.d and tmpfiles.d on a scratch root: the group exists and the
# directories come out as the unit's RuntimeDirectory/StateDirectory are.
R=$tmp/sysroot
mkdir -p "$R/etc"
systemd-sysusers --root="$R" "$D/usr/lib/sysusers.d/btrsend.conf" 2> /dev/null ||
	fail "systemd-sysusers rejected btrsend.conf"
group=$(unit_value "$unit" Group)
gid=$(awk -F: -v g="$group" '$1 == g { print $3 }' "$R/etc/group")
[ -n "$gid" ] || fail "sysusers.d does not create the unit's Group=$group"
systemd-tmpfiles --root="$R" --create "$D/usr/lib/tmpfiles.d/btrsend.conf" ||
	fail "systemd-tmpfiles rejected btrsend.conf"
run=/run/$(unit_value "$unit" RuntimeDirectory)
state=/var/lib/$(unit_value "$unit" StateDirectory)
[ "$(stat -c '%a %u %g' "$R$run")" = "$(unit_value "$unit" RuntimeDirectoryMode | sed 's/^0//') 0 $gid" ] ||
	fail "tmpfiles $run: $(stat -c '%a %u %g' "$R$run") differs from the unit's RuntimeDirectory"
[ "$(stat -c '%a %u %g' "$R$state")" = "$(unit_value "$unit" StateDirectoryMode | sed 's/^0//') 0 0" ] ||
	fail "tmpfiles $state: $(stat -c '%a %u %g' "$R$state") differs from the unit's StateDirectory"

# Uninstall removes every file, keeps an admin's config; verify now fails
# (ExecStart is gone), so it does check what it should.
echo "# mine" > "$D/etc/btrsend/btrsend.conf"
mk uninstall DESTDIR="$D" PREFIX=/usr
find "$D" -type f | sed "s|^$D/||" > "$tmp/left"
[ "$(cat "$tmp/left")" = etc/btrsend/btrsend.conf ] || {
	cat "$tmp/left" >&2
	fail "uninstall left files (or removed the admin's btrsend.conf)"
}
verify && fail "systemd-analyze verify passed with ExecStart missing"
grep -q "Command $D/usr/sbin/btrsendd is not executable" "$tmp/verify.log" || {
	cat "$tmp/verify.log" >&2
	fail "verify did not name the missing binary"
}

# PREFIX=/usr/local, SYSCONFDIR=/etc/local: the unit follows.
D2=$tmp/root2
mk install DESTDIR="$D2" PREFIX=/usr/local SYSCONFDIR=/etc/local
unit2=$D2/usr/local/lib/systemd/system/btrsendd.service
[ "$(unit_value "$unit2" ExecStart)" = "/usr/local/sbin/btrsendd -f /etc/local/btrsend/btrsend.conf" ] ||
	fail "PREFIX=/usr/local: ExecStart=$(unit_value "$unit2" ExecStart)"
mode_is "$D2/etc/local/btrsend/btrsend.conf.example" 644
mode_is "$D2/usr/local/share/bash-completion/completions/btrsendctl" 644
mk uninstall DESTDIR="$D2" PREFIX=/usr/local SYSCONFDIR=/etc/local
[ -z "$(find "$D2" -type f)" ] || fail "PREFIX=/usr/local: uninstall left files"
[ -e "$D2/etc/local/btrsend" ] && fail "uninstall left an empty config directory"
echo "systemd units and install: ok"
