/*
 * Forking workers, their exit statuses, and the worker side of the
 * parent <-> worker conversation (see worker.h).
 */
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "proto/base/testing.h"
#include "daemon/net/sandbox.h"
#include "daemon/worker/worker.h"

enum run_result
worker_outcome(int wstatus, int killed_by_us)
{
	if (WIFEXITED(wstatus)) {
		if (WEXITSTATUS(wstatus) == RUN_EXIT_OK)
			return RUN_OK;
		if (WEXITSTATUS(wstatus) == RUN_EXIT_RETRY)
			return RUN_RETRY;
		return RUN_FAILED;
	}
	if (WIFSIGNALED(wstatus)) {
		if (killed_by_us || WTERMSIG(wstatus) == SIGTERM ||
		    WTERMSIG(wstatus) == SIGKILL)
			return RUN_RETRY;
		return RUN_FAILED;
	}
	return RUN_FAILED;
}

void
worker_status_str(int wstatus, char *buf, size_t len)
{
	if (WIFEXITED(wstatus))
		snprintf(buf, len, "exit %d", WEXITSTATUS(wstatus));
	else if (WIFSIGNALED(wstatus))
		snprintf(buf, len, "killed by signal %d (%s)%s",
		    WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)),
		    WCOREDUMP(wstatus) ? ", core dumped" : "");
	else
		snprintf(buf, len, "wait status 0x%x", wstatus);
}

/* In the child between fork and exec: a clean slate of signals. */
static void
worker_child_signals(void)
{
	struct sigaction sa;
	sigset_t none;
	int sig;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Only the parent talks to systemd. */
static void
worker_child_env(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

pid_t
worker_spawn(const char *self, int foreground, int verbose, int *fd)
{
	char *argv[8];
	int i, n = 0;
	int sv[2];
	pid_t pid, parent = getpid();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return -1;
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		worker_child_signals();
		worker_child_env();
		/*
		 * A worker outliving a killed parent would run its job beside
		 * the restarted daemon's run of the same job.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
		    getppid() != parent)
			_exit(RUN_EXIT_RETRY);
		if (sv[1] == IPC_WORKER_FD)
			fcntl(sv[1], F_SETFD, 0);
		else if (dup2(sv[1], IPC_WORKER_FD) == -1)
			_exit(RUN_EXIT_FAILED);
		closefrom(IPC_WORKER_FD + 1);
		argv[n++] = "btrsendd";
		argv[n++] = "-W";
		if (foreground)
			argv[n++] = "-d";
		for (i = 0; i < verbose && i < 3; i++)
			argv[n++] = "-v";
		argv[n] = NULL;
		execv(self, argv);
		fprintf(stderr, "btrsendd: exec %s: %s\n", self,
		    strerror(errno));
		_exit(RUN_EXIT_FAILED);
	}
	close(sv[1]);
	setpgid(pid, pid);	/* also here: no race with a kill(-pid) */
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) == -1) {
		close(sv[0]);
		kill(pid, SIGKILL);
		return -1;
	}
	*fd = sv[0];
	return pid;
}

pid_t
worker_spawn_command(const char *cmdline, char *const env[])
{
	pid_t pid;
	int fd;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		setpgid(0, 0);
		worker_child_signals();
		worker_child_env();
		for (; *env != NULL; env++)
			putenv(*env);
		if ((fd = open("/dev/null", O_RDONLY)) != -1) {
			dup2(fd, STDIN_FILENO);
			if (fd != STDIN_FILENO)
				close(fd);
		}
		closefrom(STDERR_FILENO + 1);
		execl("/bin/sh", "sh", "-c", cmdline, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	return pid;
}

static int
worker_send(int fd, struct msgbuf *b)
{
	int r = ipc_write_all(fd, b);

	msgbuf_free(b);
	if (r == -1)
		log_warn("worker: write to parent");
	return r;
}

/* Hello both ways, then the one run message; -1 with err set. */
static int
worker_handshake(int fd, struct frame_decoder *d, struct ipc_run *run,
    char *err, size_t errlen)
{
	struct msgbuf b = { 0 };

	ipc_put_hello(&b, (uint32_t)getpid());
	if (worker_send(fd, &b) == -1) {
		snprintf(err, errlen, "hello to the parent failed");
		return -1;
	}
	if (ipc_read_frame(fd, d, err, errlen) == -1)
		return -1;
	if (d->hdr.type != IPC_HELLO) {
		snprintf(err, errlen, "expected hello, got %s",
		    ipc_type_name(d->hdr.type));
		return -1;
	}
	if (ipc_get_hello(d->payload, d->hdr.len, err, errlen) == -1 ||
	    ipc_read_frame(fd, d, err, errlen) == -1)
		return -1;
	if (d->hdr.type != IPC_RUN) {
		snprintf(err, errlen, "expected run, got %s",
		    ipc_type_name(d->hdr.type));
		return -1;
	}
	return ipc_get_run(d->payload, d->hdr.len, run, err, errlen);
}

/*
 * Test hook: a message type the parent does not know, then silence.  The
 * three test flags of a run are set only by a test build's parent
 * (daemon/daemon.h); a release build compiles none of them.
 */
static void
worker_babble(const char *job)
{
	struct frame_hdr h = { .type = 99, .pid = (uint32_t)getpid() };
	struct msgbuf b = { 0 };

	log_warnx("job %s: test hook: worker sends message type 99", job);
	b.p = xmalloc(FRAME_HEADER_LEN);
	b.len = b.cap = FRAME_HEADER_LEN;
	frame_hdr_encode(b.p, &h);
	worker_send(IPC_WORKER_FD, &b);
	for (;;)
		pause();
}

/*
 * What the C library reads at run time: the resolver's files (a target
 * given by host name), the dynamic linker's cache (NSS modules it
 * loads), OpenSSL's configuration, and the kernel's send stream version.
 */
static const char *const worker_ro_files[] = {
	"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
	"/etc/host.conf", "/etc/services", "/etc/ld.so.cache",
	"/etc/localtime", "/etc/ssl/openssl.cnf",
	"/sys/fs/btrfs/features/send_stream_version",
};

/* NSS modules and OpenSSL's providers are loaded from these. */
static const char *const worker_lib_dirs[] = {
	"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib",
};

#define WORKER_NRO	(sizeof(worker_ro_files) / sizeof(worker_ro_files[0]))
#define WORKER_DNS_PORT	53	/* the resolver's TCP, for long answers */

static bool
worker_numeric_host(const char *host)
{
	struct in6_addr a;

	return inet_pton(AF_INET, host, &a) == 1 ||
	    inet_pton(AF_INET6, host, &a) == 1;
}

static size_t
worker_add_port(unsigned short *ports, size_t n, unsigned short p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ports[i] == p)
			return n;
	ports[n] = p;
	return n + 1;
}

/*
 * The TCP ports the worker may connect to (room for IPC_TARGETS_MAX + 1):
 * its targets', and DNS's when one is given by name (glibc asks again
 * over TCP when an answer does not fit a datagram).  The count.
 */
static size_t
worker_ports(const struct ipc_run *run, unsigned short *ports)
{
	size_t n = 0;
	uint32_t i;
	bool named = false;

	for (i = 0; i < run->ntargets && i < IPC_TARGETS_MAX; i++) {
		if (run->targets[i].port > 0 && run->targets[i].port <= 65535)
			n = worker_add_port(ports, n,
			    (unsigned short)run->targets[i].port);
		if (!worker_numeric_host(run->targets[i].host))
			named = true;
	}
	if (named)
		n = worker_add_port(ports, n, WORKER_DNS_PORT);
	return n;
}

/*
 * Before the job's first step: only the capabilities snapshotting and
 * sending need, no_new_privs, a Landlock domain and the job worker's
 * system calls (daemon/net/sandbox.h).  Landlock: full access beneath the
 * snapshot-dir (snapshots are made, listed and deleted there), reading
 * beneath the source (the snapshot ioctl is given it open), of the TLS
 * files and of what the C library reads (worker_ro_files,
 * worker_lib_dirs); TCP connect only to the targets' ports.  The worker
 * writes nothing else: the parent keeps the state.
 */
static int
worker_confine(const struct ipc_run *run)
{
	const char *ro[WORKER_NRO + 3];
	unsigned short ports[IPC_TARGETS_MAX + 1];
	struct sandbox sb;
	char err[256];
	size_t n;
	int snapfd, r;

	for (n = 0; n < WORKER_NRO; n++)
		ro[n] = worker_ro_files[n];
	if (run->tls_certificate[0] != '\0') {
		ro[n++] = run->tls_certificate;
		ro[n++] = run->tls_key;
		ro[n++] = run->tls_ca;
	}
	/* A missing snapshot-dir: snapshot_create says so, as before. */
	snapfd = open(run->snapshot_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	memset(&sb, 0, sizeof(sb));
	sb.role = SANDBOX_JOB;
	sb.rw_dirs = &snapfd;
	sb.nrw_dirs = snapfd == -1 ? 0 : 1;
	sb.ro_dirs = (const char *const *)&run->source;
	sb.nro_dirs = 1;
	sb.ro_files = ro;
	sb.nro_files = n;
	sb.lib_dirs = worker_lib_dirs;
	sb.nlib_dirs = sizeof(worker_lib_dirs) / sizeof(worker_lib_dirs[0]);
	sb.ports = ports;
	sb.nports = worker_ports(run, ports);
	sb.landlock = sb.seccomp = true;
	r = sandbox_apply(&sb, err, sizeof(err));
	if (snapfd != -1)
		close(snapfd);
	if (r == -1) {
		log_warnx("job %s: cannot sandbox the job worker: %s; run "
		    "refused", run->job, err);
		return -1;
	}
	if (TEST_HOOKS)
		sandbox_test_probe();
	return 0;
}

int
worker_main(int foreground, int verbose)
{
	struct ipc_result res = { 0 };
	struct frame_decoder d;
	struct ipc_run run;
	struct msgbuf b = { 0 };
	char err[256];
	int code, r;

	log_init("btrsendd[worker]", verbose);
	log_use_journal(foreground);
	signal(SIGPIPE, SIG_IGN);
	frame_decoder_init(&d, &ipc_rules);
	r = worker_handshake(IPC_WORKER_FD, &d, &run, err, sizeof(err));
	frame_decoder_free(&d);
	if (r == -1) {
		log_warnx("worker: %s", err);
		return RUN_EXIT_FAILED;
	}
	log_fields(run.job, NULL, NULL, NULL);
	if (worker_confine(&run) == -1) {
		ipc_run_free(&run);
		return RUN_EXIT_FAILED;
	}
	if (TEST_HOOKS && (run.flags & IPC_RUN_TEST_CRASH)) {
		log_warnx("job %s: test hook: worker crashes now", run.job);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	if (TEST_HOOKS && (run.flags & IPC_RUN_TEST_BABBLE))
		worker_babble(run.job);
	if (TEST_HOOKS && (run.flags & IPC_RUN_TEST_HANG)) {
		log_warnx("job %s: test hook: worker hangs now", run.job);
		for (;;)
			pause();
	}
	code = jobrun(IPC_WORKER_FD, &run, &res);
	ipc_put_result(&b, (uint32_t)getpid(), &res);
	if (worker_send(IPC_WORKER_FD, &b) == -1 && code == RUN_EXIT_OK)
		code = RUN_EXIT_RETRY;
	ipc_result_free(&res);
	ipc_run_free(&run);
	return code;
}
