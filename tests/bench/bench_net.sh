# Network transfer against the local baselines, same machine, same run,
# `sync` on the receiving side included in every timing:
#   net:   btrsendd (TLS, loopback) <- btrsendctl send --to, full send
#   progs: btrfs send | btrfs receive
#   ssh:   btrfs send | ssh localhost btrfs receive, ssh's default cipher,
#          against a private sshd (own config, host key, authorized_keys
#          and port; the system's ssh setup is not touched)
#   file:  btrsendctl receive -f of the same stream, saved beforehand
#   cut:   the network send through faultproxy, cut once at 50% of the
#          stream: wall time and the client bytes resent
# of $BENCH_MIB (1536) MiB of incompressible data, each but the cut
# $BENCH_REPS (3) times, the best time counting.  $BENCH_CKPT_BYTES, if
# set, is the receiver's checkpoint interval: a test hook
# (BTRSEND_CKPT_BYTES), so then the bench runs the test build
# (make TESTING=1), not the release build.
#
# The images live in /dev/shm.  Mounted with btrfs's default discard=async,
# every deleted snapshot is punched out of the image in the background
# (during the next timed run) and the next writes must allocate and zero
# its memory again: noise of up to 2x that no disk has, and that hit
# whichever way ran first.  So the filesystems are mounted nodiscard,
# one untimed transfer fills the receiving image first, and the ways take
# turns at going first.
[ -z "${BENCH_CKPT_BYTES:-}" ] || B=build-test
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/net.sh"
fixture_init
mib=${BENCH_MIB:-1536}
ckpt=${BENCH_CKPT_BYTES:-}
net_fixture d $((mib + 768))M $((mib * 2 + 1024))M nodiscard nodiscard
mkdir -p "$DST/plain"

# Incompressible: AES-CTR keystream in files of 100 MiB.
btrfs -q subvolume create "$SRC/data" || fail "subvolume create"
left=$mib i=0
while [ "$left" -gt 0 ]; do
	n=$((left > 100 ? 100 : left))
	openssl enc -aes-128-ctr -nosalt -pass "pass:btrsend$i" -pbkdf2 \
	    -in /dev/zero 2>/dev/null | head -c $((n * 1024 * 1024)) > "$SRC/data/f$i" ||
		fail "making data"
	left=$((left - n)) i=$((i + 1))
done
snap=home.20260101T000000Z
mkdir "$SRC/snaps"
btrfs -q subvolume snapshot -r "$SRC/data" "$SRC/snaps/$snap" || fail "snapshot"
btrfs -q send -f "$d/stream" "$SRC/snaps/$snap" || fail "btrfs send -f"
stream=$(stat -c %s "$d/stream")
sync

port=$NET_PORT
net_recv_conf "$d/recv.conf" "$d/state" "$DST/backup"
if [ -n "$ckpt" ]; then
	[ -x "$BTRSENDD" ] || fail "BENCH_CKPT_BYTES needs the test build: make TESTING=1"
	export BTRSEND_CKPT_BYTES=$ckpt
fi
net_start_receiver "$d/recv.conf" "$d/recv.log"
rpid=$NET_RECV_PID
net_start_proxy "$d/proxy" -c $((stream / 2)) -m 1 -T 1200
# A private sshd on 127.0.0.1: it needs only its privilege separation
# directory from the system, made (and removed) here if missing.
[ -x /usr/sbin/sshd ] || skip "no /usr/sbin/sshd (make deps)"
command -v ssh >/dev/null || skip "no ssh client (make deps)"
if [ ! -d /run/sshd ]; then
	mkdir -m 0755 /run/sshd && trap 'fixture_cleanup; rmdir /run/sshd 2>/dev/null' EXIT
fi
ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host" || fail "ssh-keygen host"
ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_user" || fail "ssh-keygen user"
cp "$d/ssh_user.pub" "$d/authorized_keys"
sshport=$((20000 + RANDOM % 20000))
[ "$sshport" = "$port" ] && sshport=$((port + 1))
cat > "$d/sshd_config" <<CONF
ListenAddress 127.0.0.1
HostKey $d/ssh_host
AuthorizedKeysFile $d/authorized_keys
PidFile $d/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
CONF
cat > "$d/ssh_config" <<CONF
Host bench
	HostName 127.0.0.1
	Port $sshport
	User root
	IdentityFile $d/ssh_user
	IdentitiesOnly yes
	BatchMode yes
	StrictHostKeyChecking no
	UserKnownHostsFile $d/known_hosts
	GlobalKnownHostsFile /dev/null
	LogLevel ERROR
CONF
/usr/sbin/sshd -D -e -f "$d/sshd_config" -p "$sshport" 2> "$d/sshd.log" &
sshd_pid=$!
fixture_track_pid $sshd_pid
for i in $(seq 50); do
	ssh -F "$d/ssh_config" -i "$d/ssh_user" bench true 2>/dev/null && break
	sleep 0.1
done
ssh -F "$d/ssh_config" -i "$d/ssh_user" bench true ||
	fail "private sshd on port $sshport: $(cat "$d/sshd.log")"
cipher=$(ssh -v -F "$d/ssh_config" -i "$d/ssh_user" bench true 2>&1 |
	awk '/kex: server->client cipher:/ { print $5; exit }')

net_send_conf "$d/direct.conf"
net_send_conf -p "$NET_PROXY_PORT" "$d/proxy.conf"
got=$DST/backup/laptop.test/home/$snap

# cpu_ms PID: CPU time of PID and of its children it has reaped.
tck=$(getconf CLK_TCK)
cpu_ms() {
	sed 's/.*) //' "/proc/$1/stat" |
		awk -v t="$tck" '{ printf "%d", ($12 + $13 + $14 + $15) * 1000 / t }'
}
# timed CMD...: wall milliseconds of CMD and a sync of both filesystems,
# then the CPU milliseconds of CMD and of the receiving btrsendd and sshd
# (whose workers and sessions they reap; kernel writeback is not counted).
timed() {
	local t0 t1 c0 c1 i me=$BASHPID
	sync
	c0=$(( $(cpu_ms $rpid) + $(cpu_ms $sshd_pid) + $(cpu_ms $me) ))
	t0=$(date +%s%N)
	"$@" > "$d/out" 2> "$d/err" ||
		{ cat "$d/out" "$d/err" >&2; tail -5 "$d/recv.log" >&2; fail "$*"; }
	sync
	t1=$(date +%s%N)
	for i in $(seq 100); do
		[ -z "$(pgrep -P $rpid)" ] && [ -z "$(pgrep -P $sshd_pid)" ] && break
		sleep 0.05
	done
	c1=$(( $(cpu_ms $rpid) + $(cpu_ms $sshd_pid) + $(cpu_ms $me) ))
	echo $(( (t1 - t0) / 1000000 )) $((c1 - c0))
}
drop() {	# drop SUBVOL: delete what a run received
	btrfs -q subvolume delete "$1" >/dev/null || fail "delete $1"
	btrfs -q subvolume sync "$DST" >/dev/null 2>&1
	sync
}
progs_pipe() {
	btrfs send -q "$SRC/snaps/$snap" | btrfs receive -q "$DST/plain"
}
ssh_pipe() {
	btrfs send -q "$SRC/snaps/$snap" |
		ssh -F "$d/ssh_config" -i "$d/ssh_user" bench \
		btrfs receive -q "$DST/plain"
}

# Shared machine: each way runs $BENCH_REPS (3) times, interleaved, and
# its best time counts (all times are printed).
reps=${BENCH_REPS:-3}
best() { printf '%s\n' "$@" | sort -n | head -1; }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
all_net= all_progs= all_ssh= all_file=
cpu_net= cpu_progs= cpu_ssh= cpu_file=
# way NAME: one timed run of a way, checked and recorded, then dropped.
way() {
	local t c cmd got_at=$DST/plain/$snap a u
	case $1 in
	net)	cmd=("$CTL" send -f "$d/direct.conf" --job home --to backup "$SRC/snaps/$snap")
		got_at=$got ;;
	progs)	cmd=(progs_pipe) ;;
	ssh)	cmd=(ssh_pipe) ;;
	file)	cmd=("$CTL" receive -q -f "$d/stream" "$DST/plain") ;;
	esac
	read -r t c <<< "$(timed "${cmd[@]}")"
	[ -n "$c" ] || exit 1
	"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" "$got_at" ||
		fail "$1: received snapshot differs"
	drop "$got_at"
	a=all_$1 u=cpu_$1
	printf -v "$a" '%s %s' "${!a}" "$t"
	printf -v "$u" '%s %s' "${!u}" "$c"
}
# Untimed: the receiving image's memory is allocated once, here.
progs_pipe || fail "warm-up: btrfs send | btrfs receive"
drop "$DST/plain/$snap"
for rep in $(seq "$reps"); do
	if [ $((rep % 2)) = 1 ]; then
		way net; way progs; way ssh; way file
	else
		way progs; way net; way file; way ssh
	fi
done
t_net=$(best $all_net) t_progs=$(best $all_progs)
t_ssh=$(best $all_ssh) t_file=$(best $all_file)
read -r t_cut c_cut <<< "$(timed "$CTL" send -f "$d/proxy.conf" --job home --retries 3 --to backup "$SRC/snaps/$snap")"
[ -n "$c_cut" ] || exit 1
grep -q "resuming at command" "$d/out" || fail "cut run did not resume: $(cat "$d/out")"
"$TOOLS/treecmp" --ignore-root-times "$SRC/snaps/$snap" "$got" || fail "cut: received snapshot differs"
sleep 0.5
c2s=$(awk '$1 == "c2s" { print $2 }' "$d/proxy.count")
cuts=$(awk '$1 == "cuts" { print $2 }' "$d/proxy.count")
[ "$cuts" = 1 ] || fail "proxy made $cuts cuts, expected 1"

mbs() { awk -v b="$stream" -v t="$1" 'BEGIN { printf "%.0f", b / 1048576 / (t / 1000) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "net: stream $stream bytes ($mib MiB incompressible), ckpt ${ckpt:-default}, best of $reps"
row() {	# row LABEL BEST ALL CPUS
	printf '  %-34s %7d ms %5s MiB/s  cpu %5d ms  (wall ms:%s; cpu ms:%s)\n' \
		"$1" "$2" "$(mbs "$2")" "$(best $4)" "$3" "$4"
}
row "btrsendctl send --to (TLS)" "$t_net" "$all_net" "$cpu_net"
row "btrfs send | btrfs receive" "$t_progs" "$all_progs" "$cpu_progs"
row "btrfs send | ssh | btrfs receive" "$t_ssh" "$all_ssh" "$cpu_ssh"
row "btrsendctl receive -f (file)" "$t_file" "$all_file" "$cpu_file"
printf '  %-34s %7d ms                cpu %5d ms\n' "send --to, cut at 50%, resumed" "$t_cut" "$c_cut"
echo "  net/progs time $(ratio "$t_net" "$t_progs") (target <= 1.11, i.e. speed >= 0.9 of the local pipe)"
echo "  ssh/net time $(ratio "$t_ssh" "$t_net") (target >= 1.5; ssh cipher ${cipher:-unknown}), ssh/progs $(ratio "$t_ssh" "$t_progs")"
# This machine's speed drifts between repetitions: the medians and the
# ratio of each repetition (same minute) tell how much the best times say.
reps_ratios=$(paste -d' ' <(printf '%s\n' $all_progs) <(printf '%s\n' $all_net) |
	awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 / $2 }')
echo "  progs/net of the medians $(ratio "$(median $all_progs)" "$(median $all_net)"), of each repetition: $reps_ratios"
echo "  ratio progs/net $(ratio "$t_progs" "$t_net"), file/net $(ratio "$t_file" "$t_net"), progs/file $(ratio "$t_progs" "$t_file")"
echo "  cut: $c2s client bytes for a $stream-byte stream, resent $((c2s > stream ? c2s - stream : 0)) ($(ratio $((c2s - stream)) "$stream") of the stream); time vs uncut $(ratio "$t_cut" "$t_net")"
