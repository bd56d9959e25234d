/*
 * A connection to the receiver (netsend_impl.h), for a transfer or a
 * single request: connected within the target's timeout, TLS up, hellos
 * exchanged; and failing it, with the receiver's own reason when it sent
 * one.
 */
#include <sys/socket.h>
#include <netdb.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "proto/base/log.h"
#include "daemon/net/netsend_impl.h"

/* connect(2), bounded by the timeout (a black-holed SYN takes minutes). */
static int
net_connect(int fd, const struct addrinfo *ai, int timeout_ms)
{
	struct pollfd p = { fd, POLLOUT, 0 };
	socklen_t len = sizeof(int);
	int r, e = 0;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	do
		r = poll(&p, 1, timeout_ms);
	while (r == -1 && errno == EINTR);
	if (r == 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == -1)
		return -1;
	if (e != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

static int
net_dial(struct netsend *n)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, e;

	n->timeout_ms = n->tg->timeout_ms > 0 ? n->tg->timeout_ms :
	    NET_TIMEOUT_MS;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((e = getaddrinfo(n->tg->host, n->tg->port, &hints, &res)) != 0) {
		log_warnx("send: %s:%s: %s", n->tg->host, n->tg->port, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1)
			continue;
		if (net_connect(fd, ai, n->timeout_ms) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	freeaddrinfo(res);
	if (fd == -1)
		log_warn("send: connect to %s:%s", n->tg->host, n->tg->port);
	return fd;
}

int
net_open(struct netsend *n, SSL_CTX *ctx, uint32_t caps, const char *what,
    struct wire_hello *peer)
{
	char err[512];
	int fd;

	if ((fd = net_dial(n)) == -1)
		return -1;
	if (tls_connect(&n->t, ctx, fd, n->tg->cert_name, n->timeout_ms, err,
	    sizeof(err)) == -1) {
		if (what == NULL)
			log_warnx("send to %s: %s", n->to, err);
		else
			log_warnx("%s on %s: %s", what, n->to, err);
		n->permanent = n->t.cls == ERR_PERMANENT;
		goto fail;
	}
	n->w = &n->wown;
	wireio_init(n->w, &n->t, WIRE_CLIENT);
	if (wireio_hello(n->w, caps, STREAM_VERSION_MAX, peer) == -1) {
		net_fail(n);
		goto fail;
	}
	return fd;
fail:
	net_close(n, fd);
	return -1;
}

void
net_close(struct netsend *n, int fd)
{
	if (n->w != NULL && n->w->in != NULL)
		wireio_free(n->w);
	n->w = NULL;
	tls_close(&n->t);
	close(fd);
}

/* Fail the attempt; an ERROR from the receiver may forbid retrying. */
int
net_fail(struct netsend *n)
{
	if (n->w->cls == ERR_PERMANENT)
		n->permanent = true;
	if (n->what != NULL)
		log_warnx("%s on %s: %s", n->what, n->to, n->w->err);
	else
		log_warnx("%s %s: %s", n->sv != NULL ? "restore to" : "send to",
		    n->to, n->w->err);
	return -1;
}

/*
 * Sending failed.  A receiver that refuses a command sends ERROR and then
 * closes; the ERROR may be waiting unread while our write failed.  Read
 * for a moment so that the log says why, not just "connection closed".
 */
int
net_fail_send(struct netsend *n)
{
	struct tls_conn *t = n->w->tls;
	struct wire_msg m;
	char err[sizeof(n->w->err)];
	enum err_class cls = n->w->cls;

	if (n->w->peer_error == 0 && !n->w->fsm.closed && t->ssl != NULL &&
	    !t->timed_out) {
		memcpy(err, n->w->err, sizeof(err));
		t->timeout_ms = 2000;
		while (wireio_recv(n->w, &m) == 0)
			wire_msg_free(&m);      /* ACKs still in flight */
		if (n->w->peer_error == 0) {
			memcpy(n->w->err, err, sizeof(err));
			n->w->cls = cls;
		}
	}
	return net_fail(n);
}
