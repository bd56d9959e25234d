/*
 * Accept with back-off (see acceptor.h).
 */
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/acceptor.h"
#include "proto/base/log.h"

struct acceptor {
	struct event_base	*base;
	const char		*what;
	int			 flags;
	acceptor_cb		 cb;
	void			*arg;
	struct event		**ev;		/* one per listening socket */
	size_t			 n;
	struct event		*ev_resume;
};

int
acceptor_listen_tcp(const char *what, const char *host, unsigned port,
    int backlog, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char serv[8];
	int s = -1, one = 1, e;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%u", port);
	if ((e = getaddrinfo(host, serv, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s listen %s:%u: %s", what, host, port,
		    gai_strerror(e));
		return -1;
	}
	if ((s = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(s, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(s, backlog) == -1) {
		snprintf(err, errlen, "%s listen %s:%u: cannot bind: %s "
		    "(address in use or not local?)", what, host, port,
		    strerror(errno));
		if (s != -1)
			close(s);
		s = -1;
	}
	freeaddrinfo(res);
	return s;
}

static void
acceptor_pause(struct acceptor *a, int on)
{
	struct timeval tv = { ACCEPTOR_BACKOFF, 0 };
	size_t i;

	for (i = 0; i < a->n; i++) {
		if (on)
			event_del(a->ev[i]);
		else
			event_add(a->ev[i], NULL);
	}
	if (on)
		evtimer_add(a->ev_resume, &tv);
}

static void
acceptor_resume(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	acceptor_pause(arg, 0);
}

static void
acceptor_accept(evutil_socket_t lfd, short ev, void *arg)
{
	struct acceptor *a = arg;
	int fd;

	(void)ev;
	if ((fd = accept4(lfd, NULL, NULL, a->flags)) != -1) {
		a->cb(fd, a->arg);
		return;
	}
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM) {
		log_warn("%s: accept; pausing for %ds", a->what,
		    ACCEPTOR_BACKOFF);
		acceptor_pause(a, 1);
	} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		log_warn("%s: accept", a->what);
}

struct acceptor *
acceptor_new(struct event_base *base, const char *what, int flags,
    acceptor_cb cb, void *arg)
{
	struct acceptor *a;

	a = xcalloc(1, sizeof(*a));
	a->base = base;
	a->what = what;
	a->flags = flags;
	a->cb = cb;
	a->arg = arg;
	if ((a->ev_resume = evtimer_new(base, acceptor_resume, a)) == NULL)
		fatalx("evtimer_new");
	return a;
}

void
acceptor_add(struct acceptor *a, int lfd)
{
	a->ev = xrealloc(a->ev, (a->n + 1) * sizeof(*a->ev));
	a->ev[a->n] = event_new(a->base, lfd, EV_READ | EV_PERSIST,
	    acceptor_accept, a);
	if (a->ev[a->n] == NULL || event_add(a->ev[a->n], NULL) == -1)
		fatalx("event_new");
	a->n++;
}

void
acceptor_free(struct acceptor *a)
{
	size_t i;
	int fd;

	if (a == NULL)
		return;
	for (i = 0; i < a->n; i++) {
		fd = event_get_fd(a->ev[i]);
		event_free(a->ev[i]);
		close(fd);
	}
	free(a->ev);
	event_free(a->ev_resume);
	free(a);
}
