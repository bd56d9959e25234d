/*
 * Worker sandbox (see sandbox.h): libcap, prctl, Landlock, libseccomp.
 */
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <seccomp.h>
#include <sys/capability.h>

#include "proto/base/log.h"
#include "proto/base/testing.h"
#include "daemon/net/sandbox.h"

/* Landlock rights newer than Debian 12's headers (ABI 3 to 6). */
#define SB_FS_TRUNCATE		(1ULL << 14)	/* ABI 3 */
#define SB_FS_IOCTL_DEV		(1ULL << 15)	/* ABI 5 */
#define SB_NET_BIND_TCP		(1ULL << 0)	/* ABI 4 */
#define SB_NET_CONNECT_TCP	(1ULL << 1)
#define SB_SCOPE_ABSTRACT_UNIX	(1ULL << 0)	/* ABI 6 */
#define SB_SCOPE_SIGNAL		(1ULL << 1)
#define SB_RULE_NET_PORT	2		/* ABI 4 */

/* struct landlock_net_port_attr (ABI 4). */
struct sb_net_port_attr {
	uint64_t	allowed_access;
	uint64_t	port;
};

/* struct landlock_ruleset_attr as of ABI 6; older kernels read less. */
struct sb_ruleset_attr {
	uint64_t	fs;
	uint64_t	net;
	uint64_t	scoped;
};

#define SB_CAP(c)	(1ULL << (c))

unsigned long long
sandbox_caps(enum sandbox_role role)
{
	/*
	 * Applying a stream: subvolume, snapshot and received-uuid ioctls
	 * and trusted.* xattrs (SYS_ADMIN); owners, modes, set-id bits,
	 * device nodes, immutable flags and file capabilities as the
	 * sender had them, in files root does not own.
	 */
	if (role == SANDBOX_RECEIVE || role == SANDBOX_RESTORE)
		return SB_CAP(CAP_SYS_ADMIN) | SB_CAP(CAP_CHOWN) |
		    SB_CAP(CAP_DAC_OVERRIDE) | SB_CAP(CAP_DAC_READ_SEARCH) |
		    SB_CAP(CAP_FOWNER) | SB_CAP(CAP_FSETID) |
		    SB_CAP(CAP_MKNOD) | SB_CAP(CAP_LINUX_IMMUTABLE) |
		    SB_CAP(CAP_SETFCAP);
	/*
	 * Sending: BTRFS_IOC_SEND, snapshot creation and deletion (SYS_ADMIN),
	 * reading every file of the source whatever its mode, writing the
	 * snapshot-dir.
	 */
	return SB_CAP(CAP_SYS_ADMIN) | SB_CAP(CAP_DAC_OVERRIDE) |
	    SB_CAP(CAP_DAC_READ_SEARCH) | SB_CAP(CAP_FOWNER);
}

/* Whether the process holds no capability at all (permitted set empty). */
static bool
sb_caps_none(void)
{
	cap_value_t v, max = (cap_value_t)cap_max_bits();
	cap_flag_value_t on;
	bool none = true;
	cap_t c;

	if ((c = cap_get_proc()) == NULL)
		return false;
	for (v = 0; v < max && v < 64 && none; v++)
		if (cap_get_flag(c, v, CAP_PERMITTED, &on) == 0 &&
		    on == CAP_SET)
			none = false;
	cap_free(c);
	return none;
}

static int
sb_caps(unsigned long long keep, char *err, size_t errlen)
{
	cap_value_t v, max = (cap_value_t)cap_max_bits();
	cap_flag_value_t on;
	cap_t c;

	/*
	 * A process holding no capability (btrsendctl restore --path by a
	 * user) has none to drop, may not shrink its bounding set, and
	 * gains none under no_new_privs.
	 */
	if (sb_caps_none())
		return 0;
	/* The bounding set first: dropping from it needs CAP_SETPCAP. */
	for (v = 0; v < max && v < 64; v++)
		if (!(keep & SB_CAP(v)) && cap_get_bound(v) == 1 &&
		    cap_drop_bound(v) == -1) {
			snprintf(err, errlen, "dropping %s from the bounding "
			    "set: %s (CAP_SETPCAP is needed for it: see "
			    "CapabilityBoundingSet= in btrsendd.service)",
			    cap_to_name(v), strerror(errno));
			return -1;
		}
	if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() == -1) {
		snprintf(err, errlen, "clearing ambient capabilities: %s",
		    strerror(errno));
		return -1;
	}
	if ((c = cap_init()) == NULL) {
		snprintf(err, errlen, "cap_init: %s", strerror(errno));
		return -1;
	}
	for (v = 0; v < max && v < 64; v++) {
		if (!(keep & SB_CAP(v)))
			continue;
		if (cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET) == -1 ||
		    cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET) == -1)
			goto fail;
	}
	if (cap_set_proc(c) == -1)
		goto fail;
	cap_free(c);
	/* A kept capability we never had is a misconfigured unit. */
	if ((c = cap_get_proc()) == NULL)
		goto fail;
	for (v = 0; v < max && v < 64; v++)
		if ((keep & SB_CAP(v)) && (cap_get_flag(c, v, CAP_EFFECTIVE,
		    &on) == -1 || on != CAP_SET))
			log_warnx("sandbox: %s is not held; operations "
			    "needing it will fail (see CapabilityBoundingSet= "
			    "in btrsendd.service)", cap_to_name(v));
	cap_free(c);
	return 0;
fail:
	snprintf(err, errlen, "setting capabilities: %s", strerror(errno));
	cap_free(c);
	return -1;
}

int
sandbox_landlock_abi(void)
{
	long abi;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

/* Every filesystem right a kernel of this ABI knows. */
static uint64_t
sb_fs_rights(int abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1;	/* ABI 1 */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= SB_FS_TRUNCATE;
	if (abi >= 5)
		r |= SB_FS_IOCTL_DEV;
	return r;
}

static int
sb_landlock_rule(int rs, int fd, uint64_t allowed)
{
	struct landlock_path_beneath_attr pb;

	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = allowed;
	pb.parent_fd = fd;
	return (int)syscall(SYS_landlock_add_rule, rs,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
}

/*
 * A rule beneath the file or directory name, if it exists; the rights
 * only directories have are dropped for a file (the kernel refuses
 * them there).
 */
static int
sb_landlock_name(int rs, const char *name, uint64_t allowed, char *err,
    size_t errlen)
{
	const uint64_t file_only = LANDLOCK_ACCESS_FS_EXECUTE |
	    LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |
	    SB_FS_TRUNCATE | SB_FS_IOCTL_DEV;
	struct stat st;
	int fd;

	if ((fd = open(name, O_PATH | O_CLOEXEC)) == -1)
		return 0;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		allowed &= file_only;
	if (sb_landlock_rule(rs, fd, allowed) == -1) {
		snprintf(err, errlen, "Landlock rule for %s: %s", name,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* TCP connect to each port given (ABI 4). */
static int
sb_landlock_ports(const struct sandbox *sb, int rs, char *err, size_t errlen)
{
	struct sb_net_port_attr np;
	size_t i;

	for (i = 0; i < sb->nports; i++) {
		memset(&np, 0, sizeof(np));
		np.allowed_access = SB_NET_CONNECT_TCP;
		np.port = sb->ports[i];
		if (syscall(SYS_landlock_add_rule, rs, SB_RULE_NET_PORT, &np,
		    0) == -1) {
			snprintf(err, errlen, "Landlock rule for TCP port %u: "
			    "%s", sb->ports[i], strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int
sb_landlock_rules(const struct sandbox *sb, int rs, int abi, uint64_t fs,
    char *err, size_t errlen)
{
	const uint64_t rd = LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_READ_DIR;
	size_t i;

	/* All but running programs and device ioctls beneath each. */
	for (i = 0; i < sb->nrw_dirs; i++)
		if (sb_landlock_rule(rs, sb->rw_dirs[i], fs &
		    ~(LANDLOCK_ACCESS_FS_EXECUTE | SB_FS_IOCTL_DEV)) == -1) {
			snprintf(err, errlen, "Landlock rule for directory "
			    "fd %d: %s", sb->rw_dirs[i], strerror(errno));
			return -1;
		}
	for (i = 0; i < sb->nro_dirs; i++)
		if (sb_landlock_name(rs, sb->ro_dirs[i], rd, err, errlen) == -1)
			return -1;
	for (i = 0; i < sb->nro_files; i++)
		if (sb_landlock_name(rs, sb->ro_files[i],
		    LANDLOCK_ACCESS_FS_READ_FILE, err, errlen) == -1)
			return -1;
	for (i = 0; i < sb->nlib_dirs; i++)
		if (sb_landlock_name(rs, sb->lib_dirs[i],
		    rd | LANDLOCK_ACCESS_FS_EXECUTE, err, errlen) == -1)
			return -1;
	if (abi >= 4 && sb_landlock_ports(sb, rs, err, errlen) == -1)
		return -1;
	return 0;
}

static int
sb_landlock(const struct sandbox *sb, char *err, size_t errlen)
{
	static const size_t attr_size[] = { 0, 8, 8, 8, 16, 16, 24 };
	struct sb_ruleset_attr a;
	size_t size;
	int abi, rs;

	if ((abi = sandbox_landlock_abi()) == 0) {
		if (errno != ENOSYS && errno != EOPNOTSUPP) {
			snprintf(err, errlen, "Landlock: %s", strerror(errno));
			return -1;
		}
		log_warnx("sandbox: this kernel has no Landlock (%s); the "
		    "worker runs without its filesystem confinement (boot with "
		    "lsm=...,landlock to have it)", strerror(errno));
		return 0;
	}
	if (abi < 2) {
		/* ABI 1 refuses every rename across directories (EXDEV). */
		log_warnx("sandbox: Landlock ABI 1 cannot allow the renames "
		    "applying needs; the worker runs without its filesystem "
		    "confinement (a kernel of 5.19 or later has it)");
		return 0;
	}
	memset(&a, 0, sizeof(a));
	a.fs = sb_fs_rights(abi);
	if (abi >= 4)
		a.net = SB_NET_BIND_TCP | SB_NET_CONNECT_TCP;
	if (abi >= 6)
		a.scoped = SB_SCOPE_ABSTRACT_UNIX | SB_SCOPE_SIGNAL;
	size = attr_size[abi < 6 ? abi : 6];
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &a, size, 0)) ==
	    -1) {
		snprintf(err, errlen, "Landlock ruleset (ABI %d): %s", abi,
		    strerror(errno));
		return -1;
	}
	if (sb_landlock_rules(sb, rs, abi, a.fs, err, errlen) == -1)
		goto fail;
	if (syscall(SYS_landlock_restrict_self, rs, 0) == -1) {
		snprintf(err, errlen, "Landlock restrict_self: %s",
		    strerror(errno));
		goto fail;
	}
	close(rs);
	log_debug("sandbox: Landlock ABI %d domain on", abi);
	return 0;
fail:
	close(rs);
	return -1;
}

/*
 * The system calls of both roles: I/O on descriptors held, files beneath
 * the Landlock rules, memory, threads, time, signals to itself, logging
 * (stderr, syslog's /dev/log, the journal's socket, its memfds).
 */
static const char *const sb_calls_common[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
	"pwritev", "preadv2", "pwritev2", "lseek", "close", "open", "openat",
	"openat2", "fstat", "stat", "lstat", "newfstatat", "statx", "fstatfs",
	"statfs", "getdents64", "readlink", "readlinkat", "access",
	"faccessat", "faccessat2", "fcntl", "dup", "dup2", "dup3", "flock",
	"ftruncate", "fsync", "fdatasync", "syncfs", "sync_file_range",
	"fadvise64", "getcwd", "mkdir", "mkdirat", "rename", "renameat",
	"renameat2", "unlink", "unlinkat", "rmdir",
	"mmap", "munmap", "mremap", "mprotect", "brk", "madvise",
	"exit", "exit_group", "futex", "set_robust_list", "get_robust_list",
	"rseq", "set_tid_address", "sched_yield", "sched_getaffinity",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait",
	"sigaltstack", "tgkill", "tkill", "restart_syscall",
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getresuid", "getresgid", "getgroups", "capget", "capset",
	"prlimit64", "getrlimit", "getrusage", "uname", "sysinfo", "umask",
	"nanosleep", "clock_nanosleep", "pause", "clock_gettime", "clock_getres",
	"gettimeofday", "time", "poll", "ppoll", "select", "pselect6",
	"connect", "sendto", "sendmsg", "sendmmsg", "recvfrom", "recvmsg",
	"shutdown", "getsockopt", "setsockopt", "getsockname", "getpeername",
	"memfd_create", "getrandom", "pipe2", "eventfd2",
};

/* Applying a stream. */
static const char *const sb_calls_receive[] = {
	"mknod", "mknodat", "symlink", "symlinkat", "link", "linkat",
	"chown", "fchown", "lchown", "fchownat", "chmod", "fchmod",
	"fchmodat", "fchmodat2", "utimensat", "truncate", "fallocate",
	"copy_file_range", "setxattr", "lsetxattr", "fsetxattr", "getxattr",
	"lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
	"removexattr", "lremovexattr", "fremovexattr",
	/* deferred inode flags, applied at END (engine/apply_defer.c) */
	"open_by_handle_at",
};

/* Sending (BTRFS_IOC_SEND into a pipe), dialing targets (restore too). */
static const char *const sb_calls_job[] = {
	"bind", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
	"llistxattr", "flistxattr", "fchmod", "fchown", "utimensat",
	"epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait",
};

static int
sb_allow_names(scmp_filter_ctx f, const char *const *names, size_t n)
{
	size_t i;
	int nr;

	for (i = 0; i < n; i++) {
		/* a call this architecture lacks needs no rule */
		if ((nr = seccomp_syscall_resolve_name(names[i])) ==
		    __NR_SCMP_ERROR || nr < 0)
			continue;
		if (seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0) < 0)
			return -1;
	}
	return 0;
}

/* Calls allowed only with some arguments. */
static int
sb_allow_args(scmp_filter_ctx f, enum sandbox_role role)
{
	/*
	 * Threads only: a new process or namespace is never needed.
	 * clone3 passes its flags in memory no filter can read, so it
	 * fails with ENOSYS and glibc falls back to clone.
	 */
	if (seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
	    0) < 0 ||
	    seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) < 0)
		return -1;
	/* No faking of terminal input where stderr is a terminal. */
	if (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_NE, TIOCSTI)) < 0)
		return -1;
	/* Unix sockets for the log; a job worker and restore dial targets. */
	if (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX)) < 0)
		return -1;
	if ((role == SANDBOX_JOB || role == SANDBOX_RESTORE) &&
	    (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET)) < 0 ||
	    seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET6)) < 0 ||
	    seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_NETLINK)) < 0))
		return -1;
	return 0;
}

/*
 * TEST ONLY: BTRSEND_TEST_SECCOMP_LOG=1 logs (to the kernel log, audit
 * type 1326) what the filter would kill for, and lets it run: how the
 * allow-lists were found.  Test build only (proto/base/testing.h).
 */
static uint32_t
sb_test_default(void)
{
	if (TEST_HOOK_ENV("BTRSEND_TEST_SECCOMP_LOG") != NULL)
		return SCMP_ACT_LOG;
	return SCMP_ACT_KILL_PROCESS;
}

static int
sb_seccomp(const struct sandbox *sb, char *err, size_t errlen)
{
	scmp_filter_ctx f;
	uint32_t deflt = SCMP_ACT_KILL_PROCESS;
	int rc = -1, r;

	if (TEST_HOOKS)
		deflt = sb_test_default();
	if ((f = seccomp_init(deflt)) == NULL) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	/* Every thread, should one have been started already. */
	if ((r = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1)) < 0)
		goto fail;
	r = -EINVAL;
	if (sb_allow_names(f, sb_calls_common, sizeof(sb_calls_common) /
	    sizeof(sb_calls_common[0])) == -1 ||
	    (sb->role != SANDBOX_JOB && sb_allow_names(f, sb_calls_receive,
	    sizeof(sb_calls_receive) / sizeof(sb_calls_receive[0])) == -1) ||
	    (sb->role != SANDBOX_RECEIVE && sb_allow_names(f, sb_calls_job,
	    sizeof(sb_calls_job) / sizeof(sb_calls_job[0])) == -1) ||
	    sb_allow_args(f, sb->role) == -1)
		goto fail;
	if ((r = seccomp_load(f)) < 0)
		goto fail;
	rc = 0;
	goto done;
fail:
	snprintf(err, errlen, "seccomp filter: %s", strerror(-r));
done:
	seccomp_release(f);
	return rc;
}

int
sandbox_apply(const struct sandbox *sb, char *err, size_t errlen)
{
	if (sb_caps(sandbox_caps(sb->role), err, errlen) == -1)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return -1;
	}
	if (sb->landlock && sb_landlock(sb, err, errlen) == -1)
		return -1;
	if (sb->seccomp && sb_seccomp(sb, err, errlen) == -1)
		return -1;
	return 0;
}

bool
sandbox_killed(int wstatus)
{
	return WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGSYS;
}

/* TEST ONLY: the probes of sb_test_probe, each logged with its outcome. */
static void
sb_probe_open(const char *what, const char *path, int flags)
{
	int fd, e;

	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0600);
	e = errno;
	log_warnx("TEST: sandbox probe: %s %s: %s", what, path,
	    fd == -1 ? strerror(e) : "allowed");
	if (fd != -1)
		close(fd);
}

static void
sb_probe_cap(const char *name)
{
	cap_value_t v;
	cap_t c;
	int r = -1, e = EINVAL;

	if (cap_from_name(name, &v) == 0 && (c = cap_get_proc()) != NULL) {
		if (cap_set_flag(c, CAP_PERMITTED, 1, &v, CAP_SET) == 0 &&
		    cap_set_flag(c, CAP_EFFECTIVE, 1, &v, CAP_SET) == 0)
			r = cap_set_proc(c);
		e = errno;
		cap_free(c);
	}
	log_warnx("TEST: sandbox probe: raise %s: %s", name,
	    r == -1 ? strerror(e) : "allowed");
}

static void
sb_probe_call(const char *name)
{
	long r = -1;

	log_warnx("TEST: sandbox probe: calling %s", name);
	errno = EINVAL;
	if (strcmp(name, "socket") == 0)
		r = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	else if (strcmp(name, "ptrace") == 0)
		r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	else if (strcmp(name, "umount") == 0)
		r = umount2("/nonexistent/btrsend-probe", 0);
	log_warnx("TEST: sandbox probe: %s returned %ld (%s)", name, r,
	    r == -1 ? strerror(errno) : "allowed");
}

/* TEST ONLY: a TCP connect to, or bind of, 127.0.0.1:port. */
static void
sb_probe_tcp(const char *what, const char *port)
{
	struct sockaddr_in sin;
	int fd, r = -1, e = EINVAL;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)strtoul(port, NULL, 10));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		if (strcmp(what, "bind") == 0)
			r = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
		else
			r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
		e = errno;
		close(fd);
	} else
		e = errno;
	log_warnx("TEST: sandbox probe: %s 127.0.0.1:%s: %s", what, port,
	    r == -1 ? strerror(e) : "allowed");
}

/*
 * TEST ONLY: BTRSEND_TEST_SANDBOX_PROBE=ITEM[,ITEM...] makes a worker,
 * once sandboxed, try what it must not and log what it saw: write:PATH
 * and read:PATH open a file, connect:PORT and bind:PORT a TCP socket on
 * 127.0.0.1 (a job worker: a receive worker's filter kills it for the
 * socket), cap:NAME raises a capability, call:NAME makes a system call
 * outside the allow-list (socket, ptrace, umount).
 * tests/integration/sandbox_recv.sh, sandbox_job.sh.  Test build only.
 */
static void
sb_test_probe(void)
{
	const char *v;
	char *list, *item, *save = NULL;

	if ((v = TEST_HOOK_ENV("BTRSEND_TEST_SANDBOX_PROBE")) == NULL)
		return;
	list = xstrdup(v);
	for (item = strtok_r(list, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		if (strncmp(item, "write:", 6) == 0)
			sb_probe_open("write", item + 6,
			    O_WRONLY | O_APPEND | O_CREAT);
		else if (strncmp(item, "read:", 5) == 0)
			sb_probe_open("read", item + 5, O_RDONLY);
		else if (strncmp(item, "connect:", 8) == 0)
			sb_probe_tcp("connect", item + 8);
		else if (strncmp(item, "bind:", 5) == 0)
			sb_probe_tcp("bind", item + 5);
		else if (strncmp(item, "cap:", 4) == 0)
			sb_probe_cap(item + 4);
		else if (strncmp(item, "call:", 5) == 0)
			sb_probe_call(item + 5);
	}
	free(list);
}

void
sandbox_test_probe(void)
{
	if (TEST_HOOKS)
		sb_test_probe();
}
