/*
 * Listener (see listener.h).  The parent only accepts, forks and reaps:
 * TLS, parsing and filesystem work happen in the child, so a slow or
 * hostile client never stalls the parent or other clients.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netdb.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "daemon/listener.h"
#include "daemon/log.h"
#include "daemon/recv_worker.h"
#include "daemon/tls.h"

#define LISTENER_MAX 16

static volatile sig_atomic_t listener_quit;

static void
listener_signal(int sig)
{
	(void)sig;
	listener_quit = 1;
}

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
	if ((s = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
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

static void
listener_reap(void)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			log_debug("receive worker %d ended with status 0x%x",
			    (int)pid, st);
}

static void
listener_child(int fd, const struct pollfd *pf, int n, SSL_CTX *ctx,
    const struct conf *conf)
{
	struct recv_params p;
	const char *env;
	int i;

	for (i = 0; i < n; i++)
		close(pf[i].fd);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	memset(&p, 0, sizeof(p));
	p.root = conf->receive.root;
	p.clients = conf->receive.clients;
	p.nclients = conf->receive.nclients;
	p.timeout_ms = RECV_TIMEOUT_MS_DEFAULT;
	p.ckpt_bytes = RECV_CKPT_BYTES_DEFAULT;
	/* Tests shorten the checkpoint interval to exercise resume. */
	if ((env = getenv("BTRSEND_CKPT_BYTES")) != NULL)
		p.ckpt_bytes = strtoull(env, NULL, 0);
	_exit(recv_worker_run(fd, ctx, &p));
}

int
listener_run(const struct conf *conf)
{
	struct pollfd pf[LISTENER_MAX];
	struct tls_conf tc;
	struct sigaction sa;
	SSL_CTX *ctx;
	char err[512];
	size_t i;
	int n = 0, fd;
	pid_t pid;

	if (!conf->receive.set)
		fatalx("no receive block in %s: nothing to do", conf->path);
	tc.certificate = conf->tls_certificate;
	tc.key = conf->tls_key;
	tc.ca = conf->tls_ca;
	if ((ctx = tls_ctx_new(&tc, true, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	for (i = 0; i < conf->receive.nlisten && n < LISTENER_MAX; i++) {
		if ((pf[n].fd = listener_bind(&conf->receive.listen[i])) == -1)
			return 1;
		pf[n++].events = POLLIN;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = listener_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	log_info("receiving into %s on %zu address%s", conf->receive.root,
	    conf->receive.nlisten, conf->receive.nlisten == 1 ? "" : "es");
	while (!listener_quit) {
		listener_reap();
		if (poll(pf, n, 1000) <= 0)
			continue;
		for (i = 0; i < (size_t)n; i++) {
			if (!(pf[i].revents & POLLIN))
				continue;
			if ((fd = accept4(pf[i].fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
				continue;
			if ((pid = fork()) == -1)
				log_warn("fork");
			else if (pid == 0)
				listener_child(fd, pf, n, ctx, conf);
			close(fd);
		}
	}
	for (i = 0; i < (size_t)n; i++)
		close(pf[i].fd);
	SSL_CTX_free(ctx);
	log_info("stopping; running transfers finish on their own");
	return 0;
}
