/*
 * Handshakes in the parent's loop (see handshake.h).
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "daemon/handshake.h"
#include "daemon/net/tls.h"
#include "proto/base/log.h"
#include "proto/msg/codec.h"
#include "proto/msg/wire.h"

/* The sources counted together: an IPv4 address, an IPv6 /64. */
struct hs_addr {
	LIST_ENTRY(hs_addr) entry;
	uint8_t		 key[16];
	unsigned	 n;		/* its connections in the table */
	char		 text[INET6_ADDRSTRLEN + 4];
};

enum hs_state {
	HS_HANDSHAKE,			/* TLS, under the deadline */
	HS_DEFERRED,			/* authenticated, waiting for a worker */
	HS_WORDS,			/* writing an ERROR before the close */
	HS_LINGER,			/* half-closed, draining the peer */
};

struct handshake {
	TAILQ_ENTRY(handshake) entry;	/* the oldest first */
	struct hs_addr	*addr;
	enum hs_state	 state;
	int		 fd;
	struct tls_conn	 tls;
	struct event	*ev_io, *ev_timer;
	struct timespec	 started;
	int		 deadline_s;
	int		 deferred_ms;	/* HS_DEFERRED so far */
	struct msgbuf	 out;		/* HS_WORDS: the ERROR frame */
	size_t		 off;
	char		 name[INET6_ADDRSTRLEN + 16];	/* address:port */
};

static struct {
	struct event_base *base;
	SSL_CTX		*ctx;
	struct conf *const *confp;
	handshake_done_fn *done;
	TAILQ_HEAD(, handshake) all;
	LIST_HEAD(, hs_addr) addrs;
	unsigned	 n;
	/* the log's rate limit: lines in this second, and those dropped */
	time_t		 log_sec;
	unsigned	 log_n;
	unsigned long	 log_dropped;
	struct event	*ev_log;
} H;

static void	hs_io(evutil_socket_t, short, void *);

static time_t
hs_now(struct timespec *ts)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, ts != NULL ? ts : &t);
	return ts != NULL ? ts->tv_sec : t.tv_sec;
}

static void
hs_log_flush(void)
{
	if (H.log_dropped == 0)
		return;
	log_warnx("%lu more lines about refused connections not logged (at "
	    "most %d a second)", H.log_dropped, HANDSHAKE_LOG_BURST);
	H.log_dropped = 0;
}

static void
hs_log_timer(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	hs_log_flush();
}

/*
 * Whoever can reach the port decides how often these lines come: at
 * most HANDSHAKE_LOG_BURST a second, the rest counted.
 */
static void __attribute__((format(printf, 1, 2)))
hs_log(const char *fmt, ...)
{
	struct timeval tv = { 1, 0 };
	char line[1024];
	va_list ap;
	time_t now = hs_now(NULL);

	if (now != H.log_sec) {
		hs_log_flush();
		H.log_sec = now;
		H.log_n = 0;
	}
	if (H.log_n == HANDSHAKE_LOG_BURST) {
		if (H.log_dropped++ == 0)
			evtimer_add(H.ev_log, &tv);
		return;
	}
	H.log_n++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warnx("%s", line);
}

/* The address's key, its text and the connection's name. */
static int
hs_key(int fd, uint8_t key[16], char *text, size_t textlen, char *name,
    size_t namelen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	memset(key, 0, 16);
	if (ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		memcpy(key, &sin6->sin6_addr, 16);
		inet_ntop(AF_INET, key + 12, text, textlen);
		snprintf(name, namelen, "%s:%u", text, ntohs(sin6->sin6_port));
	} else if (ss.ss_family == AF_INET6) {
		/* One host has a whole /64: count it as one. */
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(name, namelen, "[%s]:%u", host, ntohs(sin6->sin6_port));
		memcpy(key, &sin6->sin6_addr, 8);
		inet_ntop(AF_INET6, key, host, sizeof(host));
		snprintf(text, textlen, "%s/64", host);
	} else if (ss.ss_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &sin->sin_addr, 4);
		inet_ntop(AF_INET, &sin->sin_addr, text, textlen);
		snprintf(name, namelen, "%s:%u", text, ntohs(sin->sin_port));
	} else
		return -1;
	return 0;
}

static struct hs_addr *
hs_addr_find(const uint8_t key[16])
{
	struct hs_addr *a;

	LIST_FOREACH(a, &H.addrs, entry)
		if (memcmp(a->key, key, 16) == 0)
			return a;
	return NULL;
}

static void
hs_close(struct handshake *h)
{
	TAILQ_REMOVE(&H.all, h, entry);
	H.n--;
	if (--h->addr->n == 0) {
		LIST_REMOVE(h->addr, entry);
		free(h->addr);
	}
	event_free(h->ev_io);
	event_free(h->ev_timer);
	tls_discard(&h->tls);
	close(h->fd);
	msgbuf_free(&h->out);
	free(h);
}

static void
hs_wait(struct handshake *h, int want)
{
	event_del(h->ev_io);
	event_assign(h->ev_io, H.base, h->fd,
	    want == TLS_WANT_WRITE ? EV_WRITE : EV_READ, hs_io, h);
	event_add(h->ev_io, NULL);
}

static void
hs_timer(struct handshake *h, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(h->ev_timer, &tv);
}

static long
hs_age(const struct handshake *h)
{
	struct timespec now;

	hs_now(&now);
	return (long)(now.tv_sec - h->started.tv_sec);
}

/* Half-close and drain, so that what we said is not lost to a reset. */
static void
hs_linger(struct handshake *h)
{
	tls_discard(&h->tls);
	h->state = HS_LINGER;
	if (shutdown(h->fd, SHUT_WR) == -1) {
		hs_close(h);
		return;
	}
	hs_wait(h, TLS_WANT_READ);
}

static void
hs_drain(struct handshake *h)
{
	char buf[16384];
	ssize_t n;
	int i;

	/* A few reads a wake-up: a fast peer must not hold the loop. */
	for (i = 0; i < 8; i++) {
		n = read(h->fd, buf, sizeof(buf));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			hs_close(h);
			return;
		}
	}
	hs_wait(h, TLS_WANT_READ);
}

static void
hs_words(struct handshake *h)
{
	char err[256];
	int r;

	r = tls_write_step(&h->tls, h->out.p, h->out.len, &h->off, err,
	    sizeof(err));
	if (r > 0) {
		hs_wait(h, r);
		return;
	}
	if (r == 0)
		tls_say_goodbye(&h->tls);
	hs_linger(h);
}

/* The text a refusal's log line ends with: where the client is. */
static const char *
hs_from(const struct handshake *h, const char *err, char *buf, size_t len)
{
	if (strstr(err, h->name) != NULL)
		return "";
	snprintf(buf, len, " (client %s)", h->name);
	return buf;
}

static void
hs_handshake(struct handshake *h)
{
	const struct conf_receive *rc = &(*H.confp)->receive;
	char err[512], from[sizeof(h->name) + 16];
	int r;

	/* Not before the first byte: an idle connection costs no SSL. */
	if (h->tls.ssl == NULL &&
	    tls_accept_start(&h->tls, H.ctx, h->fd, err, sizeof(err)) == -1) {
		log_warnx("connection from %s: %s", h->name, err);
		hs_close(h);
		return;
	}
	r = tls_accept_step(&h->tls, rc->clients, rc->nclients, err,
	    sizeof(err));
	if (r > 0) {
		hs_wait(h, r);
		return;
	}
	if (r < 0)
		hs_log("connection refused: %s%s", err,
		    hs_from(h, err, from, sizeof(from)));
	if (r == -2) {
		handshake_refuse(h, WIRE_E_AUTH, "%s", err);
		return;
	}
	if (r == -1) {
		/* OpenSSL's alert went out with the failure; let it arrive. */
		hs_timer(h, HANDSHAKE_LINGER_MS);
		hs_linger(h);
		return;
	}
	event_del(h->ev_io);
	evtimer_del(h->ev_timer);
	H.done(h);
}

static void
hs_io(evutil_socket_t fd, short ev, void *arg)
{
	struct handshake *h = arg;

	(void)fd;
	(void)ev;
	switch (h->state) {
	case HS_HANDSHAKE:
		hs_handshake(h);
		break;
	case HS_DEFERRED:
		break;
	case HS_WORDS:
		hs_words(h);
		break;
	case HS_LINGER:
		hs_drain(h);
		break;
	}
}

static void
hs_deadline(evutil_socket_t fd, short ev, void *arg)
{
	struct handshake *h = arg;

	(void)fd;
	(void)ev;
	if (h->state == HS_DEFERRED) {
		h->deferred_ms += HANDSHAKE_DEFER_STEP_MS;
		H.done(h);
		return;
	}
	if (h->state == HS_HANDSHAKE)
		hs_log("connection refused: client %s: no complete TLS "
		    "handshake within %d s (timeout); a slow link may need a "
		    "longer handshake-timeout", h->name, h->deadline_s);
	hs_close(h);
}

/*
 * The table is full: the oldest connection of the address that holds
 * the most goes (the new one's own oldest, if it holds as many).  A
 * client's handshake takes milliseconds, so it is rarely the oldest of
 * anything; connections left idle are.
 */
static int
hs_evict(const struct hs_addr *newaddr, const char *newname)
{
	struct handshake *h;
	struct hs_addr *a;
	unsigned most = 0;

	LIST_FOREACH(a, &H.addrs, entry)
		if (a->n > most)
			most = a->n;
	TAILQ_FOREACH(h, &H.all, entry)
		if (newaddr != NULL && newaddr->n == most ?
		    h->addr == newaddr : h->addr->n == most)
			break;
	if (h == NULL)
		return -1;
	hs_log("%u connections in TLS handshake (max-handshakes): closing "
	    "the oldest of %s, %s after %ld s, for a new one from %s", H.n,
	    h->addr->text, h->name, hs_age(h), newname);
	hs_close(h);
	return 0;
}

static int
hs_deadline_s(const struct conf_receive *rc)
{
	uint64_t t = rc->timeout != 0 ? rc->timeout : CONF_DEFAULT_TIMEOUT;

	return (int)(rc->handshake_timeout < t ? rc->handshake_timeout : t);
}

void
handshake_add(int fd)
{
	const struct conf_receive *rc = &(*H.confp)->receive;
	struct handshake *h;
	struct hs_addr *a;
	uint8_t key[16];
	char text[sizeof(a->text)], name[sizeof(h->name)];

	if (hs_key(fd, key, text, sizeof(text), name, sizeof(name)) == -1) {
		close(fd);		/* gone already, or not IP */
		return;
	}
	a = hs_addr_find(key);
	if (a != NULL && a->n >= rc->max_handshakes_addr) {
		hs_log("connection refused: client %s: %u connections from %s "
		    "already in TLS handshake (max-handshakes-per-address)",
		    name, a->n, a->text);
		close(fd);
		return;
	}
	/* A reload may have lowered the limit. */
	while (H.n >= rc->max_handshakes)
		if (hs_evict(hs_addr_find(key), name) == -1)
			break;
	if ((a = hs_addr_find(key)) == NULL) {
		a = xcalloc(1, sizeof(*a));
		memcpy(a->key, key, 16);
		snprintf(a->text, sizeof(a->text), "%s", text);
		LIST_INSERT_HEAD(&H.addrs, a, entry);
	}
	h = xcalloc(1, sizeof(*h));
	h->fd = fd;
	h->tls.fd = -1;
	h->addr = a;
	a->n++;
	snprintf(h->name, sizeof(h->name), "%s", name);
	hs_now(&h->started);
	h->deadline_s = hs_deadline_s(rc);
	TAILQ_INSERT_TAIL(&H.all, h, entry);
	H.n++;
	h->ev_io = event_new(H.base, fd, EV_READ, hs_io, h);
	h->ev_timer = evtimer_new(H.base, hs_deadline, h);
	if (h->ev_io == NULL || h->ev_timer == NULL)
		fatalx("event_new");
	hs_timer(h, h->deadline_s * 1000);
	hs_wait(h, TLS_WANT_READ);
}

void
handshake_refuse(struct handshake *h, uint32_t code, const char *fmt, ...)
{
	struct wire_msg m;
	va_list ap;

	va_start(ap, fmt);
	wire_error_vset(&m, code, fmt, ap);
	va_end(ap);
	/* The words and the drain after them: 2 s in all. */
	hs_timer(h, HANDSHAKE_LINGER_MS);
	h->out.len = 0;
	h->off = 0;
	if (wire_encode(&h->out, &m, NULL, 0) == -1) {
		hs_linger(h);
		return;
	}
	h->state = HS_WORDS;
	hs_words(h);
}

int
handshake_defer(struct handshake *h)
{
	if (h->deferred_ms >= HANDSHAKE_DEFER_MS)
		return -1;
	h->state = HS_DEFERRED;
	hs_timer(h, HANDSHAKE_DEFER_STEP_MS);
	return 0;
}

struct tls_conn *
handshake_tls(struct handshake *h)
{
	return &h->tls;
}

const char *
handshake_addr(const struct handshake *h)
{
	return h->name;
}

void
handshake_release(struct handshake *h)
{
	hs_close(h);
}

void
handshake_forget_others(struct handshake *keep)
{
	struct handshake *h;

	/* Their keys and secrets are none of this worker's business. */
	TAILQ_FOREACH(h, &H.all, entry)
		if (h != keep)
			tls_discard(&h->tls);
}

void
handshake_init(struct event_base *base, SSL_CTX *ctx,
    struct conf *const *confp, handshake_done_fn *done)
{
	H.base = base;
	H.ctx = ctx;
	H.confp = confp;
	H.done = done;
	TAILQ_INIT(&H.all);
	LIST_INIT(&H.addrs);
	if ((H.ev_log = evtimer_new(base, hs_log_timer, NULL)) == NULL)
		fatalx("evtimer_new");
}

void
handshake_stop(void)
{
	struct handshake *h;

	while ((h = TAILQ_FIRST(&H.all)) != NULL)
		hs_close(h);
	if (H.ev_log != NULL) {
		hs_log_flush();
		event_free(H.ev_log);
		H.ev_log = NULL;
	}
}

unsigned
handshake_count(void)
{
	return H.n;
}
