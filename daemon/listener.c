/*
 * Listener (see listener.h).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netdb.h>

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "daemon/acceptor.h"
#include "daemon/listener.h"
#include "proto/base/log.h"
#include "proto/base/testing.h"
#include "daemon/net/recv_worker.h"
#include "daemon/net/sandbox.h"
#include "daemon/net/tls.h"

#define LISTENER_MAX     16
#define LISTENER_WORKERS 256            /* at once; more are refused */

static struct {
	struct event_base *base;
	struct conf *const *confp;
	SSL_CTX *ctx;
	struct acceptor *acc;
	size_t n;
	pid_t workers[LISTENER_WORKERS];
	unsigned nworkers;
} L;

static int
listener_bind(const struct conf_addr *a)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	int s = -1, one = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", a->port);
	if ((e = getaddrinfo(a->host, port, &hints, &res)) != 0) {
		log_warnx("listen %s:%s: %s", a->host, port, gai_strerror(e));
		return -1;
	}
	if ((s = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(s, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(s, 64) == -1) {
		log_warn("listen %s:%s", a->host, port);
		if (s != -1)
			close(s);
		s = -1;
	}
	freeaddrinfo(res);
	return s;
}

/* In the forked worker: nothing of the parent but the connection. */
static void
listener_child(int fd, pid_t parent)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGPIPE };
	const struct conf *conf = *L.confp;
	struct recv_params p;
	const char *env;
	sigset_t none;
	size_t i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/*
	 * A receive worker dies with its daemon, like a job worker: its
	 * transfer resumes through the restarted daemon (systemd would kill
	 * it at the restart anyway), and none works on unseen.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
		_exit(1);
	if (fd != 3) {
		if (dup2(fd, 3) == -1)
			_exit(1);
		close(fd);
	}
	close_range(4, ~0U, 0);
	memset(&p, 0, sizeof(p));
	p.root = conf->receive.root;
	p.clients = conf->receive.clients;
	p.nclients = conf->receive.nclients;
	p.timeout_ms = conf->receive.timeout != 0 ?
	    (int)conf->receive.timeout * 1000 : RECV_TIMEOUT_MS_DEFAULT;
	p.ckpt_bytes = RECV_CKPT_BYTES_DEFAULT;
	/* The test build lets tests shorten it to exercise resume. */
	if ((env = TEST_HOOK_ENV("BTRSEND_CKPT_BYTES")) != NULL)
		p.ckpt_bytes = strtoull(env, NULL, 0);
	_exit(recv_worker_run(3, L.ctx, &p));
}

/* A connection: a receive worker of its own serves it. */
static void
listener_conn(int fd, void *arg)
{
	pid_t pid, parent;

	(void)arg;
	if (L.nworkers == LISTENER_WORKERS) {
		log_warnx("%u receive workers running; refusing a connection",
		    L.nworkers);
		close(fd);
		return;
	}
	parent = getpid();
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(fd);
		return;
	}
	if (pid == 0)
		listener_child(fd, parent);
	close(fd);
	L.workers[L.nworkers++] = pid;
	log_debug("receive worker %ld started", (long)pid);
}

int
listener_start(struct event_base *base, struct conf *const *confp)
{
	const struct conf *conf = *confp;
	struct tls_conf tc;
	char err[512];
	size_t i;
	int fd;

	L.base = base;
	L.confp = confp;
	tc.certificate = conf->tls_certificate;
	tc.key = conf->tls_key;
	tc.ca = conf->tls_ca;
	if ((L.ctx = tls_ctx_new(&tc, true, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	L.acc = acceptor_new(base, "receive", SOCK_CLOEXEC, listener_conn,
	    NULL);
	for (i = 0; i < conf->receive.nlisten && i < LISTENER_MAX; i++) {
		if ((fd = listener_bind(&conf->receive.listen[i])) == -1)
			return -1;
		acceptor_add(L.acc, fd);
		L.n++;
	}
	log_info("receiving into %s on %zu address%s", conf->receive.root,
	    L.n, L.n == 1 ? "" : "es");
	return 0;
}

bool
listener_reaped(pid_t pid, int wstatus)
{
	unsigned i;

	for (i = 0; i < L.nworkers; i++)
		if (L.workers[i] == pid)
			break;
	if (i == L.nworkers)
		return false;
	L.workers[i] = L.workers[--L.nworkers];
	if (sandbox_killed(wstatus))
		log_warnx("receive worker %ld killed by its seccomp filter "
		    "(SIGSYS): it made a system call outside its allow-list; "
		    "this is a bug, please report it with the kernel log's "
		    "audit line (type=1326) naming the call", (long)pid);
	else if (WIFSIGNALED(wstatus))
		log_warnx("receive worker %ld killed by signal %d",
		    (long)pid, WTERMSIG(wstatus));
	else if (WEXITSTATUS(wstatus) != 0)
		log_info("receive worker %ld exited with status %d",
		    (long)pid, WEXITSTATUS(wstatus));
	return true;
}

void
listener_stop(void)
{
	unsigned i;

	acceptor_free(L.acc);
	L.acc = NULL;
	L.n = 0;
	/*
	 * A receive worker dies on SIGTERM; its apply engine's progress
	 * record lets the sender's next attempt resume exactly there.
	 */
	for (i = 0; i < L.nworkers; i++)
		kill(L.workers[i], SIGTERM);
	if (L.ctx != NULL) {
		SSL_CTX_free(L.ctx);
		L.ctx = NULL;
	}
}

unsigned
listener_nworkers(void)
{
	return L.nworkers;
}
