/*
 * Listener (see listener.h).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "daemon/acceptor.h"
#include "daemon/handshake.h"
#include "daemon/listener.h"
#include "proto/base/log.h"
#include "proto/base/testing.h"
#include "daemon/net/recv_worker.h"
#include "daemon/net/sandbox.h"
#include "daemon/net/tls.h"
#include "proto/msg/wire.h"

#define LISTENER_MAX     16
#define LISTENER_WORKERS 256            /* at once; more retry later */
_Static_assert(CONF_MAX_CLIENT_TRANSFERS == LISTENER_WORKERS,
    "max-transfers-per-client goes up to the receiver's workers");

static struct {
	struct event_base *base;
	struct conf *const *confp;
	SSL_CTX *ctx;
	struct acceptor *acc;
	size_t n;
	struct {
		pid_t pid;
		char client[TLS_NAME_MAX + 1];
	} workers[LISTENER_WORKERS];
	unsigned nworkers;
} L;

/* The receive workers of client name. */
static unsigned
listener_client_workers(const char *name)
{
	unsigned i, n = 0;

	for (i = 0; i < L.nworkers; i++)
		if (strcmp(L.workers[i].client, name) == 0)
			n++;
	return n;
}

/*
 * In the forked worker: nothing of the parent but the authenticated
 * connection (and stderr, the log).  The TLS session cannot cross an
 * exec (no kernel TLS here, and OpenSSL cannot export a session), so
 * the worker is a fork; what it inherited of other connections goes.
 */
static void
listener_child(struct handshake *h, pid_t parent)
{
	static const int sigs[] = { SIGHUP, SIGTERM, SIGINT, SIGCHLD, SIGPIPE };
	const struct conf *conf = *L.confp;
	struct tls_conn *t = handshake_tls(h);
	const struct conf_authority *auth;
	struct recv_params p;
	const char *env;
	char err[256];
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
	if (t->fd > 3)
		close_range(3, (unsigned)t->fd - 1, 0);
	close_range((unsigned)t->fd + 1, ~0U, 0);
	handshake_forget_others(h);
	memset(&p, 0, sizeof(p));
	p.root = conf->receive.root;
	p.timeout_ms = conf->receive.timeout != 0 ?
	    (int)conf->receive.timeout * 1000 : RECV_TIMEOUT_MS_DEFAULT;
	p.ckpt_bytes = RECV_CKPT_BYTES_DEFAULT;
	auth = conf_receive_authority(&conf->receive, t->peer);
	p.authority.protect = auth->protect;
	p.authority.keep_min = auth->keep_min;
	p.authority.append_only = auth->append_only != 0;
	/* The test build lets tests shorten it to exercise resume. */
	if ((env = TEST_HOOK_ENV("BTRSEND_CKPT_BYTES")) != NULL)
		p.ckpt_bytes = strtoull(env, NULL, 0);
	/*
	 * The handshakes are the parent's, and so is the key: this worker,
	 * which parses all the client sends, holds no copy of it.
	 */
	if (tls_accepted(t, p.timeout_ms, err, sizeof(err)) == -1 ||
	    tls_drop_key(t, L.ctx, err, sizeof(err)) == -1) {
		log_warnx("%s: %s", t->peer, err);
		_exit(1);
	}
	L.ctx = NULL;
	_exit(recv_worker_run(t, &p));
}

/*
 * An authenticated client: a receive worker of its own serves it, if
 * the receiver and the client are within their numbers of transfers;
 * else it is told to come back later.
 */
static void
listener_admitted(struct handshake *h)
{
	const struct conf *conf = *L.confp;
	const char *name = handshake_tls(h)->peer;
	unsigned n = listener_client_workers(name);
	pid_t pid, parent;

	if ((L.nworkers == LISTENER_WORKERS ||
	    n >= conf->receive.max_client_transfers) && handshake_defer(h) == 0)
		return;         /* a worker may be ending: look again soon */
	if (L.nworkers == LISTENER_WORKERS) {
		log_warnx("%s (%s): %u receive workers running, the most there "
		    "may be; the client is told to retry later", name,
		    handshake_addr(h), L.nworkers);
		handshake_refuse(h, WIRE_E_RESOURCE, "the receiver runs %u "
		    "transfers, the most it may; retry later", L.nworkers);
		return;
	}
	if (n >= conf->receive.max_client_transfers) {
		log_warnx("%s (%s): refused: %u transfer%s of this client "
		    "running (max-transfers-per-client %u); the client is told "
		    "to retry later", name, handshake_addr(h), n,
		    n == 1 ? "" : "s", conf->receive.max_client_transfers);
		handshake_refuse(h, WIRE_E_RESOURCE, "client '%s' already has "
		    "%u transfer%s running, the most this receiver allows it "
		    "(max-transfers-per-client); retry later", name, n,
		    n == 1 ? "" : "s");
		return;
	}
	parent = getpid();
	if ((pid = fork()) == -1) {
		log_warn("%s: fork", name);
		handshake_refuse(h, WIRE_E_RESOURCE, "the receiver cannot "
		    "start a worker; retry later");
		return;
	}
	if (pid == 0)
		listener_child(h, parent);
	L.workers[L.nworkers].pid = pid;
	snprintf(L.workers[L.nworkers].client,
	    sizeof(L.workers[L.nworkers].client), "%s", name);
	L.nworkers++;
	log_debug("receive worker %ld started for %s (%s)", (long)pid, name,
	    handshake_addr(h));
	handshake_release(h);
}

/* A connection: its handshake runs in this loop (handshake.h). */
static void
listener_conn(int fd, void *arg)
{
	(void)arg;
	handshake_add(fd);
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
	handshake_init(base, L.ctx, confp, listener_admitted);
	L.acc = acceptor_new(base, "receive", SOCK_CLOEXEC | SOCK_NONBLOCK,
	    listener_conn, NULL);
	for (i = 0; i < conf->receive.nlisten && i < LISTENER_MAX; i++) {
		const struct conf_addr *a = &conf->receive.listen[i];

		if ((fd = acceptor_listen_tcp("receive", a->host, a->port, 64,
		    err, sizeof(err))) == -1) {
			log_warnx("%s", err);
			return -1;
		}
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
		if (L.workers[i].pid == pid)
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
	handshake_stop();
	/*
	 * A receive worker dies on SIGTERM; its apply engine's progress
	 * record lets the sender's next attempt resume exactly there.
	 */
	for (i = 0; i < L.nworkers; i++)
		kill(L.workers[i].pid, SIGTERM);
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
